package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/kiln-build/kiln/archive"
	"golang.org/x/sys/unix"
)

// native stacks snapshots by copying: Prepare merges the lowers into a
// private directory and remembers what each file looked like; Commit keeps
// what changed since. It needs no mount and works for any user on any
// filesystem, at the cost of a copy of the lowers per Prepare (and View).
type native struct{ *committed }

func newNative(c *committed) (Snapshotter, error) { return &native{c}, nil }

var _ Snapshotter = (*native)(nil)

type nativeActive struct {
	c      *committed
	dir    string
	root   string
	before map[string]fileState // nil for a View
}

// fileState is what Commit compares to tell a changed file.
type fileState struct {
	ino, size      uint64
	ctime, mtime   int64
	mode, uid, gid uint32
}

func stateOf(fi fs.FileInfo) fileState {
	st := fi.Sys().(*syscall.Stat_t)
	return fileState{ino: st.Ino, size: uint64(st.Size), ctime: st.Ctim.Nano(), mtime: st.Mtim.Nano(),
		mode: st.Mode, uid: st.Uid, gid: st.Gid}
}

// same reports an unchanged entry: the same inode, untouched, or touched
// without a change anyone can see (a new hard link to it, say).
func (f fileState) same(g fileState) bool {
	if f.ino != g.ino {
		return false
	}
	return f.ctime == g.ctime || (f.mode == g.mode && f.uid == g.uid && f.gid == g.gid && f.size == g.size && f.mtime == g.mtime)
}

func (f fileState) isDir() bool { return f.mode&syscall.S_IFMT == syscall.S_IFDIR }

// Prepare copies the merged lowers into a private root.
func (n *native) Prepare(ctx context.Context, lowers []string) (Active, error) {
	a, err := n.merge(ctx, "snap-", lowers)
	if err != nil {
		return nil, err
	}
	a.before = map[string]fileState{}
	err = filepath.WalkDir(a.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a.root, p)
		a.before[rel] = stateOf(fi)
		return nil
	})
	if err != nil {
		a.Release()
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return a, nil
}

// View copies the merged lowers; nothing stops a writer, but nothing
// written is kept.
func (n *native) View(ctx context.Context, lowers []string) (Active, error) {
	return n.merge(ctx, "view-", lowers)
}

func (n *native) merge(ctx context.Context, prefix string, lowers []string) (*nativeActive, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := n.tempDir(prefix)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	a := &nativeActive{c: n.committed, dir: dir, root: filepath.Join(dir, "root")}
	if err := os.Mkdir(a.root, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	for i := len(lowers) - 1; i >= 0; i-- {
		if err := archive.CopyTree(ctx, lowers[i], a.root); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("snapshot: copying %s: %w", lowers[i], err)
		}
	}
	return a, nil
}

// PrepareUpper is Prepare: a native snapshot has no upper dir.
func (n *native) PrepareUpper(ctx context.Context, lowers []string) (Active, error) {
	return n.Prepare(ctx, lowers)
}

func (a *nativeActive) Root() string { return a.root }

func (a *nativeActive) Below() string { return "" }

func (a *nativeActive) Release() error { return os.RemoveAll(a.dir) }

// Commit moves every new or changed entry of root into a fresh upper dir
// (with copies of the directories above them) and marks every deleted one
// with a whiteout, then commits that dir as id.
func (a *nativeActive) Commit(ctx context.Context, id string) error {
	if a.before == nil {
		return ErrReadOnly
	}
	d := &differ{root: a.root, upper: filepath.Join(a.dir, "upper"), made: map[string]bool{".": true}, moved: map[string]bool{}}
	if err := os.Mkdir(d.upper, 0o755); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := filepath.WalkDir(a.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(a.root, p)
		if rel == "." {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		old, had := a.before[rel]
		if had && old.same(stateOf(fi)) {
			return nil
		}
		if e.IsDir() {
			return d.dir(rel)
		}
		if err := d.dir(filepath.Dir(rel)); err != nil {
			return err
		}
		d.moved[rel] = true
		return os.Rename(p, filepath.Join(d.upper, rel))
	}); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := d.whiteouts(a.before); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := d.setTimes(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	a.before = nil
	return a.c.commitDir(d.upper, id)
}

// differ builds a native snapshot's upper dir.
type differ struct {
	root, upper string
	made        map[string]bool // dirs made in upper
	moved       map[string]bool // entries moved from root to upper
	times       []dirTimes
}

type dirTimes struct {
	rel          string
	atime, mtime unix.Timespec
}

// dir makes rel and its parents in the upper dir as copies of root's
// directories (mode, owner, times), read before anything below them moved.
func (d *differ) dir(rel string) error {
	if d.made[rel] {
		return nil
	}
	if err := d.dir(filepath.Dir(rel)); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(d.root, rel), &st); err != nil {
		return err
	}
	p := filepath.Join(d.upper, rel)
	if err := os.Mkdir(p, 0o700); err != nil {
		return err
	}
	if err := os.Lchown(p, int(st.Uid), int(st.Gid)); err != nil && !ignorableChown(err) {
		return err
	}
	if err := unix.Chmod(p, st.Mode&0o7777); err != nil {
		return err
	}
	d.made[rel] = true
	d.times = append(d.times, dirTimes{rel: rel, atime: st.Atim, mtime: st.Mtim})
	return nil
}

// whiteouts marks each entry of before that is gone from root, unless its
// parent is gone too (the parent's whiteout hides it) or is no directory.
func (d *differ) whiteouts(before map[string]fileState) error {
	rels := make([]string, 0, len(before))
	for rel := range before {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		if rel == "." || d.moved[rel] {
			continue
		}
		if _, err := os.Lstat(filepath.Join(d.root, rel)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		parent := filepath.Dir(rel)
		if fi, err := os.Lstat(filepath.Join(d.root, parent)); err != nil || !fi.IsDir() {
			continue
		}
		if err := d.dir(parent); err != nil {
			return err
		}
		if err := unix.Mknod(filepath.Join(d.upper, rel), unix.S_IFCHR, 0); err != nil {
			return fmt.Errorf("whiteout %s: %w", rel, err)
		}
	}
	return nil
}

// setTimes gives the upper dirs their times back, deepest first.
func (d *differ) setTimes() error {
	for i := len(d.times) - 1; i >= 0; i-- {
		t := d.times[i]
		ts := []unix.Timespec{t.atime, t.mtime}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(d.upper, t.rel), ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	return nil
}

func ignorableChown(err error) bool {
	return os.Geteuid() != 0 && errors.Is(err, syscall.EPERM)
}
