package archive

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Apply extracts the uncompressed layer tar read from r into dir and
// returns the number of bytes of regular file content it wrote.
//
// Entry names are taken relative to dir (a leading "/" is dropped, as
// docker does). An entry whose name or hard link target climbs out of dir,
// or whose parent path or link target goes through a symlink, fails with
// ErrBreakout: extraction never follows a symlink. Symlink entries
// themselves may point anywhere; they are stored, never resolved.
//
// An existing path is replaced by the entry, except that a directory entry
// over an existing directory only updates its metadata. Directory mtimes
// are set once every entry is written. See WithOverlayWhiteouts for how
// whiteouts are handled. After the end of the tar the rest of r is read
// and discarded, so a digest computed over r covers all of it.
//
// A layer of more entries, or more bytes of file content, than allowed
// (DefaultMaxEntries and DefaultMaxBytes, see WithMaxEntries and
// WithMaxBytes) fails with a *LimitError that names the limit and how to
// raise it.
func Apply(ctx context.Context, dir string, r io.Reader, opts ...ApplyOption) (int64, error) {
	o, err := makeApplyOptions(opts)
	if err != nil {
		return 0, err
	}
	rt, err := openRoot(dir)
	if err != nil {
		return 0, fmt.Errorf("archive: applying layer: %w", err)
	}
	defer rt.close()
	a := &applier{
		ctx:      ctx,
		root:     rt,
		opts:     o,
		unpacked: map[string]struct{}{},
		dirs:     dirCache{root: rt},
	}
	rt.inRoot = a.opts.symlinksInRoot
	defer a.dirs.forget()
	tr := tar.NewReader(r)
	for entries := int64(1); ; entries++ {
		if err := ctx.Err(); err != nil {
			return a.written, err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return a.written, fmt.Errorf("archive: reading layer: %w", err)
		}
		if err := a.opts.checkLimits(entries, a.written, regularSize(hdr)); err != nil {
			return a.written, err
		}
		if err := a.entry(hdr, tr); err != nil {
			return a.written, fmt.Errorf("archive: extracting %q: %w", hdr.Name, err)
		}
	}
	if err := a.setDirTimes(); err != nil {
		return a.written, fmt.Errorf("archive: applying layer: %w", err)
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return a.written, fmt.Errorf("archive: draining layer: %w", err)
	}
	return a.written, nil
}

// regularSize is the content a header brings: its size for a regular file.
func regularSize(hdr *tar.Header) int64 {
	if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA {
		return hdr.Size
	}
	return 0
}

type applier struct {
	ctx      context.Context
	root     *root
	opts     applyOptions
	written  int64
	unpacked map[string]struct{} // paths written by this tar, with their ancestors
	dirs     dirCache            // the last entry's directory, open
	dirTimes []dirTime
}

type dirTime struct {
	rel          string
	atime, mtime time.Time
}

func (a *applier) entry(hdr *tar.Header, tr io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		if hdr.Typeflag == tar.TypeDir {
			return nil // like docker, leave the destination itself alone
		}
		return fmt.Errorf("%w: entry replaces the destination directory", ErrBreakout)
	}
	if err := checkOwner(hdr); err != nil {
		return err
	}
	dirRel, base := path.Split(rel)
	dirRel = path.Clean(dirRel)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(hdr, dirRel, base)
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	parent, err := a.dirs.open(dirRel, true, a.markUnpacked)
	if err != nil {
		return err
	}
	if err := a.create(parent, rel, hdr, tr); err != nil {
		return err
	}
	a.markUnpacked(rel)
	return nil
}

// markUnpacked records rel and its ancestors as written by this tar, so
// an opaque marker does not remove them.
func (a *applier) markUnpacked(rel string) {
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if _, ok := a.unpacked[p]; ok {
			return
		}
		a.unpacked[p] = struct{}{}
	}
}

func (a *applier) setDirTimes() error {
	for i := len(a.dirTimes) - 1; i >= 0; i-- {
		d := a.dirTimes[i]
		parent, err := a.dirs.open(path.Dir(d.rel), false, nil)
		if err != nil {
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
				continue // removed again by a later entry
			}
			return err
		}
		err = setTimes(parent, path.Base(d.rel), d.atime, d.mtime, true)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("setting times of %s: %w", d.rel, err)
		}
	}
	return nil
}

func setTimes(dirfd int, name string, atime, mtime time.Time, dirOnly bool) error {
	if dirOnly {
		st, ok, err := lstatAt(dirfd, name)
		if err != nil || !ok || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return err
		}
	}
	ts := []unix.Timespec{timespec(atime), timespec(mtime)}
	return unix.UtimesNanoAt(dirfd, name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func timespec(t time.Time) unix.Timespec {
	return unix.Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

func accessTime(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}

// maxID is the largest uid or gid a file can have: uid_t is 32 bits and
// (uid_t)-1 means "unchanged" to chown.
const maxID = 1<<32 - 2

// checkOwner refuses owners the kernel cannot store. chown takes 32-bit
// ids, so a tar uid of 2^40 would silently become 0 (root).
func checkOwner(hdr *tar.Header) error {
	if hdr.Uid < 0 || hdr.Uid > maxID || hdr.Gid < 0 || hdr.Gid > maxID {
		return fmt.Errorf("%w: uid %d, gid %d", ErrInvalidOwner, hdr.Uid, hdr.Gid)
	}
	return nil
}
