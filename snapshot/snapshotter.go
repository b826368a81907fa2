package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/store"
)

// Snapshotter keeps committed snapshots and stacks them (see the package
// doc). It is safe for concurrent use by several goroutines and processes.
type Snapshotter interface {
	// Prepare returns a writable merged view of lowers (top first).
	Prepare(ctx context.Context, lowers []string) (Active, error)
	// PrepareUpper is Prepare for a writer that resolves paths itself
	// (copier.Options.Below) and only adds entries: Root is the new
	// snapshot's upper dir, empty, and Below a read-only merged view of
	// lowers, so nothing is written through a merged mount (each new name
	// there is looked up in every lower layer). What is written under Root
	// lies over Below as it would in Prepare's merged view. A snapshotter
	// without upper dirs returns what Prepare does (Below is "").
	PrepareUpper(ctx context.Context, lowers []string) (Active, error)
	// View returns a read-only merged view of lowers (top first).
	View(ctx context.Context, lowers []string) (Active, error)
	// Extract applies an uncompressed OCI layer tar as the snapshot id,
	// unless id exists already.
	Extract(ctx context.Context, id string, layer io.Reader) error
	// Exists reports whether id is committed.
	Exists(id string) bool
	// Path is where the committed snapshot id keeps its files.
	Path(id string) string
	// Touch marks id as used now (prune keeps recently used snapshots).
	Touch(id string)
	// Remove deletes the committed snapshot id.
	Remove(id string) error
	// List describes every committed snapshot.
	List() ([]Info, error)
}

// Active is a prepared or viewed snapshot in use.
type Active interface {
	// Root is the merged tree (of PrepareUpper: the upper dir).
	Root() string
	// Below is the read-only view Root lies over, for PrepareUpper on a
	// snapshotter with upper dirs; else "".
	Below() string
	// Commit turns the changes made under Root into the committed snapshot
	// id (for a Prepare; a View has nothing to commit). When id exists
	// already (another build made it first) the existing one is kept.
	Commit(ctx context.Context, id string) error
	// Release drops the view and its temp space; after Commit it only
	// cleans up. It is safe to call more than once.
	Release() error
}

// Info is one committed snapshot's size and when a build last used it.
type Info struct {
	ID       string
	Bytes    int64
	LastUsed time.Time
}

// ErrReadOnly is returned by Commit of a View.
var ErrReadOnly = errors.New("snapshot: a view cannot be committed")

// LayerID names the snapshot of a layer with the given diff ID.
func LayerID(diffID v1.Hash) string { return diffID.Hex }

// Kind selects an implementation.
type Kind string

const (
	// Auto picks Overlay when this process can mount overlayfs, else Native.
	Auto    Kind = ""
	Overlay Kind = "overlay"
	Native  Kind = "native"
)

// Open returns a Snapshotter over st's snapshots.
func Open(st *store.Store, kind Kind) (Snapshotter, error) {
	c := &committed{dir: filepath.Join(st.Root(), "snapshots"), tempDir: st.TempDir, treeDir: st.TreeDir}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if kind == Auto {
		kind = Native
		if canMountOverlay() {
			kind = Overlay
		}
	}
	switch kind {
	case Overlay:
		return newOverlay(c)
	case Native:
		return newNative(c)
	}
	return nil, fmt.Errorf("snapshot: unknown kind %q", kind)
}

// committed is the part every implementation shares: the committed
// snapshots under one directory, each in <id>/fs.
type committed struct {
	dir     string
	tempDir func(pattern string) (string, error)
	treeDir func(pattern string) (string, error) // for a large tree (store.TreeDir)
}

func (c *committed) Path(id string) string { return filepath.Join(c.dir, id, "fs") }

func (c *committed) Exists(id string) bool {
	_, err := os.Stat(c.Path(id))
	return err == nil
}

func (c *committed) Touch(id string) {
	now := time.Now()
	_ = os.Chtimes(filepath.Join(c.dir, id), now, now)
}

func (c *committed) Remove(id string) error {
	if err := os.RemoveAll(filepath.Join(c.dir, id)); err != nil {
		return fmt.Errorf("snapshot: removing %s: %w", id, err)
	}
	return nil
}

func (c *committed) List() ([]Info, error) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	out := make([]Info, 0, len(ents))
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		in := Info{ID: e.Name(), Bytes: duBytes(filepath.Join(c.dir, e.Name()))}
		if fi, err := e.Info(); err == nil {
			in.LastUsed = fi.ModTime()
		}
		out = append(out, in)
	}
	return out, nil
}

// commitDir moves the finished directory fs into place as snapshot id. If
// the snapshot exists already (another build made it first), fs is
// removed and the existing one kept. The snapshot becomes visible in one
// rename, so a crash leaves it whole or absent.
func (c *committed) commitDir(dir, id string) error {
	if c.Exists(id) {
		return os.RemoveAll(dir)
	}
	tmp, err := c.tempDir("commit-")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(dir, filepath.Join(tmp, "fs")); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("snapshot: committing %s: %w", id, err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, id)); err != nil {
		defer os.RemoveAll(tmp)
		if errors.Is(err, fs.ErrExist) || c.Exists(id) {
			return nil
		}
		return fmt.Errorf("snapshot: committing %s: %w", id, err)
	}
	return nil
}

// Extract unpacks an OCI layer tar into a new snapshot in overlay format.
func (c *committed) Extract(ctx context.Context, id string, layer io.Reader) error {
	if c.Exists(id) {
		return nil
	}
	tmp, err := c.treeDir("extract-")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := applyOverlay(ctx, dir, layer); err != nil {
		return fmt.Errorf("snapshot: extracting %s: %w", id, err)
	}
	return c.commitDir(dir, id)
}

func duBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}
