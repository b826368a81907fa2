package copier

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// dirPerm is the mode of directories created for the destination.
const dirPerm = 0o755

// destFS resolves and creates paths inside the destination root.
//
// With Options.Below, root is a step's empty upper dir and below a
// read-only view of the lower layers it lies over: paths are looked up and
// resolved in the union (root's entry, else below's), directories only
// below are copied up (made in root with their metadata) before anything
// is written in them, and an entry below is replaced by creating one in
// root, as overlayfs shows it. Copy only adds entries, so no whiteout is
// ever needed.
type destFS struct {
	root  string
	below string // "" when root is the whole tree
	owner *Owner // --chown, given to created directories; nil = process owner
	chmod *Chmod // --chmod, also given to created directories (as fsutil does)

	mu   sync.Mutex
	dirs map[string]bool // with below: directories present in root → below has them too
}

func newDestFS(root string, opts Options) *destFS {
	d := &destFS{root: root, below: opts.Below, owner: opts.Chown, chmod: opts.Chmod}
	if d.below != "" {
		d.dirs = map[string]bool{root: true}
	}
	return d
}

// join resolves the absolute in-root path p to a host path, following
// symlinks that already exist in the root without leaving it.
func (d *destFS) join(p string) (string, error) {
	var vfs securejoin.VFS
	if d.below != "" {
		vfs = unionVFS{d}
	}
	real, err := securejoin.SecureJoinVFS(d.root, p, vfs)
	if err != nil {
		return "", fmt.Errorf("resolving destination %s: %w", p, err)
	}
	return real, nil
}

// lstat is os.Lstat of the host path p in the tree Copy writes: root's
// entry, else (with below) below's; fromBelow tells the latter.
func (d *destFS) lstat(p string) (fi os.FileInfo, fromBelow bool, err error) {
	fi, err = os.Lstat(p)
	if d.below == "" || err == nil || !isNotExist(err) {
		return fi, false, err
	}
	d.mu.Lock()
	merged, known := d.dirs[filepath.Dir(p)]
	d.mu.Unlock()
	if known && !merged { // a directory new in root: nothing below it
		return nil, false, err
	}
	fi, err = os.Lstat(d.belowPath(p))
	return fi, err == nil, err
}

// stat reports what is at the resolved host path p (nil if nothing).
func (d *destFS) stat(p string) (os.FileInfo, error) {
	var fi os.FileInfo
	var err error
	if d.below == "" {
		fi, err = os.Stat(p)
	} else {
		fi, _, err = d.lstat(p) // p is resolved: no symlink on it
	}
	if err != nil && isNotExist(err) {
		return nil, nil
	}
	return fi, err
}

// belowPath is the host path p (in root) in the view below.
func (d *destFS) belowPath(p string) string {
	return filepath.Join(d.below, strings.TrimPrefix(p, d.root))
}

func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// unionVFS lets securejoin resolve symlinks in the union of root and below.
type unionVFS struct{ d *destFS }

func (u unionVFS) Lstat(p string) (os.FileInfo, error) {
	fi, _, err := u.d.lstat(p)
	return fi, err
}

func (u unionVFS) Readlink(p string) (string, error) {
	if _, below, err := u.d.lstat(p); err == nil && below {
		return os.Readlink(u.d.belowPath(p))
	}
	return os.Readlink(p)
}

// isDir reports whether the in-root path p exists as a directory.
func (d *destFS) isDir(p string) (bool, error) {
	real, err := d.join(cleanDest(p))
	if err != nil {
		return false, err
	}
	fi, err := d.stat(real)
	return fi != nil && fi.IsDir(), err
}

// mkdirAll creates the in-root directory p and its missing parents with
// mode 0755, owned by the --chown owner when given (as BuildKit's
// fsutil MkdirAll does for every directory it creates). It returns the
// host path.
func (d *destFS) mkdirAll(p string) (string, error) {
	real, err := d.join(p)
	if err != nil {
		return "", err
	}
	return real, d.mkdirHost(real)
}

// mkdirHost creates the already-resolved host path real below the root
// (with below: copies up what only below has).
func (d *destFS) mkdirHost(real string) error {
	rel, err := filepath.Rel(d.root, real)
	if err != nil || rel == "." {
		return err
	}
	cur := d.root
	for _, comp := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, comp)
		if d.present(cur) {
			continue
		}
		fi, below, err := d.lstat(cur)
		if err == nil {
			if !fi.IsDir() {
				return &os.PathError{Op: "mkdir", Path: d.inRoot(cur), Err: syscall.ENOTDIR}
			}
			if below {
				if err := d.copyUp(cur, fi); err != nil {
					return err
				}
			}
			continue
		}
		if !isNotExist(err) {
			return err
		}
		if err := d.mkdir(cur); err != nil {
			return err
		}
		d.made(cur, false)
	}
	return nil
}

// ensureDir makes target a directory for the source directory fi: an
// existing one is kept (merged), anything else in the way is an error, as
// in BuildKit.
func (d *destFS) ensureDir(target string, fi os.FileInfo) error {
	st, below, err := d.lstat(target)
	if err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%w: %s", ErrNotDir, target)
		}
		if below {
			return d.copyUp(target, st)
		}
		return nil
	}
	if !isNotExist(err) {
		return err
	}
	if err := os.Mkdir(target, fi.Mode().Perm()|0o700); err != nil {
		return err
	}
	d.made(target, false)
	return nil
}

// beforeCreate readies the creation of the non-directory target: with
// below, its parent is made present in root, and a directory below at
// target is not replaced (ErrIsDir, as through the merged view).
func (d *destFS) beforeCreate(target string) error {
	if d.below == "" {
		return nil
	}
	parent := filepath.Dir(target)
	if !d.present(parent) {
		if err := d.mkdirHost(parent); err != nil {
			return err
		}
	}
	d.mu.Lock()
	merged := d.dirs[parent]
	d.mu.Unlock()
	if !merged {
		return nil
	}
	if fi, err := os.Lstat(d.belowPath(target)); err == nil && fi.IsDir() {
		if _, err := os.Lstat(target); isNotExist(err) {
			return fmt.Errorf("%w: %s", ErrIsDir, target)
		}
	}
	return nil
}

// present reports a directory known to be in root (always false without
// below: there is nothing else).
func (d *destFS) present(p string) bool {
	if d.below == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.dirs[p]
	return ok
}

// made records the directory p as present in root; merged tells that below
// has it too.
func (d *destFS) made(p string, merged bool) {
	if d.below == "" {
		return
	}
	d.mu.Lock()
	d.dirs[p] = merged
	d.mu.Unlock()
}

// copyUp makes the directory p, which only below has (fi), in root with
// its owner, mode, xattrs and times, as overlayfs copies a directory up
// (its parent's times are put back: a copy-up is no change to it).
func (d *destFS) copyUp(p string, fi os.FileInfo) error {
	parent, err := os.Lstat(filepath.Dir(p))
	if err != nil {
		return err
	}
	if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := setTimes(nil, filepath.Dir(p), parent); err != nil {
		return err
	}
	uid, gid := ownerOf(fi)
	if err := lchown(nil, p, uid, gid); err != nil {
		return err
	}
	if err := os.Chmod(p, fi.Mode()&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky)); err != nil {
		return err
	}
	copyXattrs(d.belowPath(p), p)
	if err := setTimes(nil, p, fi); err != nil {
		return err
	}
	d.made(p, true)
	return nil
}

// mkdir creates one directory with dirPerm, or the --chmod mode, whatever
// the umask (BuildKit applies --chmod to the directories a COPY creates,
// tonistiigi/fsutil#228).
func (d *destFS) mkdir(p string) error {
	mode := os.FileMode(dirPerm)
	if d.chmod != nil {
		mode = d.chmod.Apply(dirPerm|os.ModeDir, true)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(p, mode); err != nil {
		return err
	}
	if d.owner != nil {
		return lchown(nil, p, d.owner.UID, d.owner.GID)
	}
	return nil
}

// inRoot returns the host path p as an absolute path inside the root, for messages.
func (d *destFS) inRoot(p string) string {
	rel, err := filepath.Rel(d.root, p)
	if err != nil {
		return p
	}
	return "/" + filepath.ToSlash(rel)
}
