package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// overlay stacks snapshots with overlayfs mounts.
type overlay struct{ *committed }

func newOverlay(c *committed) (Snapshotter, error) { return &overlay{c}, nil }

var _ Snapshotter = (*overlay)(nil)

// overlayActive is one overlay mount: dir holds upper/, work/ and root/.
type overlayActive struct {
	c       *committed
	lowers  []string
	dir     string
	upper   string
	root    string
	mu      sync.Mutex
	mounted bool
	below   Active // PrepareUpper's view of the lowers
}

// Prepare mounts lowers (top first) under a fresh upper dir.
func (o *overlay) Prepare(ctx context.Context, lowers []string) (Active, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := o.tempDir("snap-")
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	a := &overlayActive{c: o.committed, dir: dir, upper: filepath.Join(dir, "upper"), root: filepath.Join(dir, "root"), lowers: lowers}
	work := filepath.Join(dir, "work")
	for _, d := range []string{a.upper, work, a.root} {
		if err := os.Mkdir(d, 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	if len(lowers) == 0 {
		// overlay needs a lower dir; an empty one costs nothing
		lowers = []string{filepath.Join(dir, "empty")}
		if err := os.Mkdir(lowers[0], 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	if err := mountOverlay(a.root, lowers, a.upper, work); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	a.mounted = true
	return a, nil
}

// PrepareUpper makes a fresh upper dir and a read-only view of lowers to
// write it against; the upper dir is never mounted.
func (o *overlay) PrepareUpper(ctx context.Context, lowers []string) (Active, error) {
	v, err := o.View(ctx, lowers)
	if err != nil {
		return nil, err
	}
	dir, err := o.tempDir("snap-")
	if err != nil {
		v.Release()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	a := &overlayActive{c: o.committed, dir: dir, upper: filepath.Join(dir, "upper"), lowers: lowers, below: v}
	a.root = a.upper
	if err := os.Mkdir(a.upper, 0o755); err != nil {
		a.Release()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return a, nil
}

// View mounts lowers (top first) read-only; with none it is an empty dir.
func (o *overlay) View(ctx context.Context, lowers []string) (Active, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := o.tempDir("view-")
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	a := &overlayActive{c: o.committed, dir: dir, root: filepath.Join(dir, "root")}
	if err := os.Mkdir(a.root, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if len(lowers) == 0 {
		return a, nil
	}
	if len(lowers) == 1 {
		// overlay refuses a single lower with no upper on some kernels; a
		// second, empty lower changes nothing
		e := filepath.Join(dir, "empty")
		if err := os.Mkdir(e, 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		lowers = []string{lowers[0], e}
	}
	if err := mountOverlay(a.root, lowers, "", ""); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	a.mounted = true
	return a, nil
}

func (a *overlayActive) Root() string { return a.root }

func (a *overlayActive) Below() string {
	if a.below == nil {
		return ""
	}
	return a.below.Root()
}

func (a *overlayActive) unmount() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.mounted {
		return nil
	}
	if err := unmount(a.root); err != nil {
		return err
	}
	a.mounted = false
	return nil
}

// Commit unmounts, normalizes the upper dir as BuildKit's differ would
// write the same change (see normalize) and commits it as id.
func (a *overlayActive) Commit(ctx context.Context, id string) error {
	if a.upper == "" {
		return ErrReadOnly
	}
	if err := a.unmount(); err != nil {
		return err
	}
	os.RemoveAll(filepath.Join(a.dir, "work"))
	if err := normalize(a.upper, a.lowers); err != nil {
		return fmt.Errorf("snapshot: normalizing upper dir: %w", err)
	}
	return a.c.commitDir(a.upper, id)
}

func (a *overlayActive) Release() error {
	if err := a.unmount(); err != nil {
		return err
	}
	if a.below != nil {
		if err := a.below.Release(); err != nil {
			return err
		}
	}
	return os.RemoveAll(a.dir)
}
