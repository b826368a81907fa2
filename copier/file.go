package copier

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/kiln-build/kiln/internal/rawfile"
)

// copyNonDir copies a regular file, symlink or special file to target,
// replacing any non-directory already there.
func (c *copier) copyNonDir(src, target string, fi os.FileInfo) error {
	// create first, clear the way only when something is there: a lookup of
	// a missing name through overlayfs visits every lower layer, and most
	// targets are new (a quarter of a 10,000-file COPY's CPU was these)
	if err := c.dst.beforeCreate(target); err != nil {
		return err
	}
	f, err := c.createNonDir(src, target, fi)
	if errors.Is(err, fs.ErrExist) {
		if err := removeNonDir(target); err != nil {
			return err
		}
		f, err = c.createNonDir(src, target, fi)
	}
	if err != nil {
		return err
	}
	if c.opts.Bytes != nil && fi.Mode().IsRegular() {
		c.opts.Bytes.Add(fi.Size())
	}
	if f == nil {
		return c.applyMeta(src, target, nil, fi)
	}
	err = c.applyMeta(src, target, f, fi)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// createNonDir creates target, a copy of the non-directory src; an error
// matching fs.ErrExist when target exists. A new regular file is returned
// open, for applyMeta.
func (c *copier) createNonDir(src, target string, fi os.FileInfo) (*rawfile.File, error) {
	switch mode := fi.Mode(); {
	case mode.IsRegular():
		if first, ok := c.linkSource(fi, target); ok {
			if err := os.Link(first, target); err != nil {
				return nil, fmt.Errorf("creating hard link: %w", err)
			}
			return nil, nil
		}
		return copyFileContent(src, target, fi.Size())
	case mode&os.ModeSocket != 0 && c.src.SocketsAsFiles:
		return rawfile.Create(target, 0o600)
	case mode&os.ModeSymlink != 0:
		link, err := os.Readlink(src)
		if err != nil {
			return nil, err
		}
		if err := os.Symlink(link, target); err != nil {
			return nil, err
		}
	default:
		if err := mknod(target, fi); err != nil {
			return nil, fmt.Errorf("creating %s: %w", target, err)
		}
	}
	return nil, nil
}

// linkSource returns the copy of an earlier hard link to the same inode,
// or records target as the first copy.
func (c *copier) linkSource(fi os.FileInfo, target string) (string, bool) {
	key, nlink := inodeOf(fi)
	if nlink < 2 {
		return "", false
	}
	if first, ok := c.links[key]; ok {
		return first, first != target // the same target: a retry after clearing it
	}
	c.links[key] = target
	return "", false
}

// removeNonDir clears target for a new file; a directory is left in place and reported.
func removeNonDir(target string) error {
	fi, err := os.Lstat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return fmt.Errorf("%w: %s", ErrIsDir, target)
	}
	return os.Remove(target)
}

// copyFileContent copies the bytes of src into the new file target, and
// returns it open.
func copyFileContent(src, target string, size int64) (*rawfile.File, error) {
	in, err := rawfile.Open(src, 0)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	out, err := rawfile.Create(target, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := rawfile.CopyFile(out, in, size); err != nil {
		out.Close()
		return nil, fmt.Errorf("copying %s: %w", src, err)
	}
	return out, nil
}

// applyMeta sets owner, mode, times and xattrs of target (through f, its
// open descriptor, if not nil) from the source entry, in BuildKit's order
// (chown before chmod, which keeps setuid bits).
func (c *copier) applyMeta(src, target string, f *rawfile.File, fi os.FileInfo) error {
	uid, gid := 0, 0
	if c.src.KeepOwner {
		uid, gid = ownerOf(fi)
	}
	if c.opts.Chown != nil {
		uid, gid = c.opts.Chown.UID, c.opts.Chown.GID
	}
	if err := lchown(f, target, uid, gid); err != nil {
		return err
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		mode := fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		if c.opts.Chmod != nil {
			mode = c.opts.Chmod.Apply(mode, fi.IsDir())
		}
		if err := chmod(f, target, mode); err != nil {
			return err
		}
	}
	if err := setTimes(f, target, fi); err != nil {
		return err
	}
	if c.src.KeepOwner {
		// files from another stage or image keep their xattrs; the build
		// context's do not (BuildKit does not send them)
		copyXattrs(src, target)
	}
	return nil
}

// chmodMode converts a --chmod value, given either with os.Mode* special
// bits or with raw octal 04000/02000/01000 bits, to an os.FileMode.
func chmodMode(m os.FileMode) os.FileMode {
	out := m & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
	if m&0o4000 != 0 {
		out |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= os.ModeSticky
	}
	return out
}
