package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// create writes the entry hdr as base in the directory parent (the top of
// a.dirs), replacing whatever is there (except a directory with a
// directory), then applies its owner, mode, xattrs and times. The entry is
// made first and only when that fails with EEXIST is the old one looked
// at: most entries of a layer are new.
func (a *applier) create(parent int, rel string, hdr *tar.Header, tr io.Reader) error {
	base := path.Base(rel)
	err := a.make(parent, base, hdr, tr)
	if errors.Is(err, unix.EEXIST) {
		st, exists, lerr := lstatAt(parent, base)
		if lerr != nil {
			return lerr
		}
		if exists && st.Mode&unix.S_IFMT == unix.S_IFDIR && hdr.Typeflag == tar.TypeDir {
			err = nil // a directory over a directory: its metadata only
		} else {
			// base is a child of the cached directories' deepest one, so
			// removing it leaves every cached descriptor valid
			if err := removeAt(parent, base); err != nil {
				return err
			}
			err = a.make(parent, base, hdr, tr)
		}
	}
	if err != nil {
		return err
	}
	if o := a.opts.owner; o != nil {
		h := *hdr
		h.Uid, h.Gid = o[0], o[1]
		hdr = &h
	}
	return a.setMetadata(parent, rel, hdr)
}

// make creates the entry hdr as base in parent; it fails with EEXIST when
// something is there.
func (a *applier) make(parent int, base string, hdr *tar.Header, tr io.Reader) error {
	var err error
	perm := uint32(hdr.Mode & 0o7777)
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		err = a.writeFile(parent, base, tr)
	case tar.TypeDir:
		err = unix.Mkdirat(parent, base, 0o700)
	case tar.TypeSymlink:
		err = unix.Symlinkat(hdr.Linkname, parent, base)
	case tar.TypeLink:
		err = a.link(parent, base, hdr.Linkname)
	case tar.TypeChar:
		err = unix.Mknodat(parent, base, unix.S_IFCHR|perm, device(hdr))
	case tar.TypeBlock:
		err = unix.Mknodat(parent, base, unix.S_IFBLK|perm, device(hdr))
	case tar.TypeFifo:
		err = unix.Mknodat(parent, base, unix.S_IFIFO|perm, 0)
	default:
		return fmt.Errorf("%w: %q", ErrUnsupportedType, hdr.Typeflag)
	}
	return err
}

// ctxFile is a file whose writes fail once ctx is done. It keeps Seek so
// a sparse tar entry can skip its holes.
type ctxFile struct {
	ctx context.Context
	*os.File
}

func (c ctxFile) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.File.Write(p)
}

func device(hdr *tar.Header) int {
	return int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
}

func (a *applier) writeFile(parent int, base string, tr io.Reader) error {
	fd, err := unix.Openat(parent, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	// tr is the *tar.Reader: its WriteTo seeks over the holes of a sparse
	// entry, so they stay holes on disk.
	n, err := io.Copy(ctxFile{ctx: a.ctx, File: f}, tr)
	a.written += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// link makes base in parent a hard link to the tar path target, resolved
// inside the destination without following symlinks. A symlink target is
// linked as the symlink itself.
func (a *applier) link(parent int, base, target string) error {
	trel, err := cleanName(target)
	if err != nil {
		return fmt.Errorf("hard link target: %w", err)
	}
	if trel == "." {
		return fmt.Errorf("%w: hard link to the destination directory", ErrBreakout)
	}
	tdir, err := a.root.openDir(path.Dir(trel), false, nil)
	if err != nil {
		return fmt.Errorf("hard link target %q: %w", target, err)
	}
	defer unix.Close(tdir)
	if err := unix.Linkat(tdir, path.Base(trel), parent, base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", target, err)
	}
	return nil
}

// setMetadata applies owner, xattrs, mode and times, in that order: chown
// clears setuid bits and file capabilities. Symlinks get no mode; directory
// times wait until the end of the tar. A hard link to a symlink is treated
// as a symlink.
func (a *applier) setMetadata(parent int, rel string, hdr *tar.Header) error {
	base := path.Base(rel)
	typ, err := entryType(parent, base, hdr)
	if err != nil {
		return err
	}
	if !a.opts.noSameOwner {
		if err := unix.Fchownat(parent, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("owner %d:%d is not mapped in kiln's user namespace (rootless kiln maps the ids of /etc/subuid and /etc/subgid): %w", hdr.Uid, hdr.Gid, err)
		} else if err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if err := applyXattrs(fdPath(parent, base), hdr); err != nil {
		return err
	}
	if typ == unix.S_IFLNK {
		return setTimes(parent, base, accessTime(hdr), hdr.ModTime, false)
	}
	if err := unix.Fchmodat(parent, base, uint32(hdr.Mode&0o7777), 0); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if typ == unix.S_IFDIR {
		a.dirTimes = append(a.dirTimes, dirTime{rel: rel, atime: accessTime(hdr), mtime: hdr.ModTime})
		return nil
	}
	return setTimes(parent, base, accessTime(hdr), hdr.ModTime, false)
}

// entryType is the file type (S_IFMT bits) create made for hdr: known from
// the header, except for a hard link, which is whatever it links to.
func entryType(parent int, base string, hdr *tar.Header) (uint32, error) {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		return unix.S_IFREG, nil
	case tar.TypeDir:
		return unix.S_IFDIR, nil
	case tar.TypeSymlink:
		return unix.S_IFLNK, nil
	case tar.TypeChar:
		return unix.S_IFCHR, nil
	case tar.TypeBlock:
		return unix.S_IFBLK, nil
	case tar.TypeFifo:
		return unix.S_IFIFO, nil
	}
	st, _, err := lstatAt(parent, base)
	return st.Mode & unix.S_IFMT, err
}

// ReadFrom copies through Write so the context is checked for every chunk.
func (c ctxFile) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{c}, r)
}
