package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// whiteout handles an entry whose base name starts with ".wh.": an opaque
// marker, a whiteout of a sibling, or (skipped) other AUFS metadata.
func (a *applier) whiteout(hdr *tar.Header, dirRel, base string) error {
	// a whiteout removes what may be a cached directory (or one above it)
	a.dirs.forget()
	if base == whiteoutOpaque {
		if a.opts.overlayWhiteouts {
			return a.overlayOpaque(dirRel)
		}
		return a.removeStale(dirRel)
	}
	if strings.HasPrefix(base, whiteoutMetaPrefix) {
		return nil // AUFS bookkeeping such as .wh..wh.plnk, as docker skips it
	}
	target := strings.TrimPrefix(base, whiteoutPrefix)
	if target == "" || target == "." || target == ".." {
		return fmt.Errorf("%w: invalid whiteout %q", ErrBreakout, hdr.Name)
	}
	if a.opts.overlayWhiteouts {
		return a.overlayWhiteout(hdr, dirRel, target)
	}
	parent, err := a.root.openDir(dirRel, false, nil)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // nothing there to remove
	}
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	return removeAt(parent, target)
}

// overlayWhiteout replaces whatever is at dirRel/target with a 0/0
// character device, as docker's overlay2 unpacker does: mode 0, owned by
// the whiteout entry's uid and gid. It also takes the entry's mtime.
func (a *applier) overlayWhiteout(hdr *tar.Header, dirRel, target string) error {
	parent, err := a.root.openDir(dirRel, true, a.markUnpacked)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	if err := removeAt(parent, target); err != nil {
		return err
	}
	if err := unix.Mknodat(parent, target, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("creating whiteout %s: %w", target, err)
	}
	if !a.opts.noSameOwner {
		if err := unix.Fchownat(parent, target, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown whiteout %s: %w", target, err)
		}
	}
	a.markUnpacked(path.Join(dirRel, target))
	return setTimes(parent, target, accessTime(hdr), hdr.ModTime, false)
}

// overlayOpaque marks dirRel opaque, creating it if needed.
func (a *applier) overlayOpaque(dirRel string) error {
	fd, err := a.root.openDir(dirRel, true, a.markUnpacked)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Setxattr(fdPath(fd, ""), OpaqueXattr(), []byte("y"), 0); err != nil {
		return fmt.Errorf("marking %s opaque: %w", dirRel, err)
	}
	return nil
}

// removeStale empties dirRel of everything this tar did not write, at any
// depth: the merged-tree meaning of an opaque marker.
func (a *applier) removeStale(dirRel string) error {
	fd, err := a.root.openDir(dirRel, false, nil)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return a.removeStaleAt(fd, dirRel)
}

func (a *applier) removeStaleAt(fd int, dirRel string) error {
	names, err := readDirNames(fd, ".")
	if err != nil {
		return err
	}
	for _, name := range names {
		child := path.Join(dirRel, name)
		if _, ok := a.unpacked[child]; !ok {
			if err := removeAt(fd, name); err != nil {
				return err
			}
			continue
		}
		sub, err := openDirAt(fd, name)
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, ErrBreakout) {
			continue // a file or symlink written by this tar
		}
		if err != nil {
			return err
		}
		err = a.removeStaleAt(sub, child)
		unix.Close(sub)
		if err != nil {
			return err
		}
	}
	return nil
}
