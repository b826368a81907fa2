package copier

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
	err := c.createNonDir(src, target, fi)
	if errors.Is(err, fs.ErrExist) {
		if err := removeNonDir(target); err != nil {
			return err
		}
		err = c.createNonDir(src, target, fi)
	}
	if err != nil {
		return err
	}
	return c.applyMeta(src, target, fi)
}

// createNonDir creates target, a copy of the non-directory src; an error
// matching fs.ErrExist when target exists.
func (c *copier) createNonDir(src, target string, fi os.FileInfo) error {
	switch mode := fi.Mode(); {
	case mode.IsRegular():
		if first, ok := c.linkSource(fi, target); ok {
			if err := os.Link(first, target); err != nil {
				return fmt.Errorf("creating hard link: %w", err)
			}
			return nil
		}
		if err := copyFileContent(src, target); err != nil {
			return err
		}
	case mode&os.ModeSocket != 0 && c.src.SocketsAsFiles:
		if err := createEmpty(target); err != nil {
			return err
		}
	case mode&os.ModeSymlink != 0:
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(link, target); err != nil {
			return err
		}
	default:
		if err := mknod(target, fi); err != nil {
			return fmt.Errorf("creating %s: %w", target, err)
		}
	}
	return nil
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

// copyFileContent copies the bytes of src into the new file target.
func copyFileContent(src, target string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copying %s: %w", src, err)
	}
	return out.Close()
}

// createEmpty creates the new empty file target.
func createEmpty(target string) error {
	f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|oNoFollow, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}

// applyMeta sets owner, mode, times and xattrs of target from the source
// entry, in BuildKit's order (chown before chmod, which keeps setuid bits).
func (c *copier) applyMeta(src, target string, fi os.FileInfo) error {
	uid, gid := 0, 0
	if c.src.KeepOwner {
		uid, gid = ownerOf(fi)
	}
	if c.opts.Chown != nil {
		uid, gid = c.opts.Chown.UID, c.opts.Chown.GID
	}
	if err := lchown(target, uid, gid); err != nil {
		return err
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		mode := fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
		if c.opts.Chmod != nil {
			mode = c.opts.Chmod.Apply(mode, fi.IsDir())
		}
		if err := os.Chmod(target, mode); err != nil {
			return err
		}
	}
	if err := setTimes(target, fi); err != nil {
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
