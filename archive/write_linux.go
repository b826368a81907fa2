package archive

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kiln-build/kiln/internal/rawfile"
	"golang.org/x/sys/unix"
)

// WriteLayer writes the snapshot directory dir (overlay upper format) to w
// as an uncompressed OCI layer tar.
//
// The output matches what docker's overlay2 driver produces from an upper
// dir and is deterministic for a given tree: entries come in lexical walk
// order (each directory's children sorted, parents first), names are
// relative with a trailing "/" on directories, ownership is numeric only,
// mtimes are truncated to seconds and atime/ctime are left out. A 0/0
// character device becomes an empty ".wh.<name>" file and a directory with
// trusted.overlay.opaque=y is followed by an empty "<dir>/.wh..wh..opq".
// Sockets are skipped.
func WriteLayer(ctx context.Context, w io.Writer, dir string, opts ...WriteOption) error {
	lw := &layerWriter{
		ctx:   ctx,
		tw:    tar.NewWriter(w),
		root:  dir,
		links: map[inode]string{},
	}
	for _, o := range opts {
		o(&lw.wopts)
	}
	if err := lw.write(); err != nil {
		return fmt.Errorf("archive: writing layer from %s: %w", dir, err)
	}
	if err := lw.tw.Close(); err != nil {
		return fmt.Errorf("archive: writing layer from %s: %w", dir, err)
	}
	return nil
}

type inode struct {
	dev, ino uint64
}

type layerWriter struct {
	wopts writeOptions
	ctx   context.Context
	tw    *tar.Writer
	root  string
	links map[inode]string // first tar name of each multiply linked inode
}

// Read-ahead: the walk hands each path to readers that stat it, read its
// xattrs and link target and, for a small regular file, its content, while
// the tar is written in walk order. A layer of many small files (a COPY of
// a source tree) is otherwise a chain of five syscalls per file on one core.
const (
	readers      = 4
	readAhead    = 64       // entries in flight
	readAheadMax = 64 << 10 // largest file read ahead; larger ones are streamed
)

// layerEntry is one walked path, prepared by a reader.
type layerEntry struct {
	p, rel string
	st     unix.Stat_t
	hdr    *tar.Header // nil: a socket or a whiteout (from st alone)
	xattrs map[string][]byte
	data   []byte // the content of a small regular file, or nil: stream it
	err    error
	done   chan struct{}
}

// prepare does the per-file syscalls of e, in a reader.
func (e *layerEntry) prepare() {
	defer close(e.done)
	if err := unix.Lstat(e.p, &e.st); err != nil {
		e.err = &os.PathError{Op: "lstat", Path: e.p, Err: err}
		return
	}
	typ := e.st.Mode & unix.S_IFMT
	if typ == unix.S_IFSOCK || typ == unix.S_IFCHR && e.st.Rdev == 0 {
		return
	}
	if e.hdr, e.err = fileHeader(e.p, e.rel, &e.st); e.err != nil {
		return
	}
	if e.xattrs, e.err = readXattrs(e.p); e.err != nil {
		return
	}
	if typ == unix.S_IFREG && e.st.Nlink == 1 && e.st.Size > 0 && e.st.Size <= readAheadMax {
		e.data, e.err = readSmall(e.p, e.st.Size)
	}
}

func readSmall(p string, size int64) ([]byte, error) {
	f, err := rawfile.Open(p, unix.O_NOFOLLOW)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, size)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("copying %s: %w", p, err)
	}
	return buf, nil
}

// write walks the tree and writes its entries in walk order, the per-file
// work done ahead by readers. Every goroutine has ended when it returns.
func (lw *layerWriter) write() error {
	if err := lw.ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(lw.ctx)
	defer cancel()
	ordered := make(chan *layerEntry, readAhead)
	jobs := make(chan *layerEntry, readAhead)
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for e := range jobs {
				e.prepare()
			}
		})
	}
	var walkErr error
	wg.Go(func() {
		defer close(ordered)
		defer close(jobs)
		walkErr = filepath.WalkDir(lw.root, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(lw.root, p)
			if err != nil || rel == "." {
				return err
			}
			e := &layerEntry{p: p, rel: filepath.ToSlash(rel), done: make(chan struct{})}
			select { // in order first, so the writer waits on it before on its successors
			case ordered <- e:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case jobs <- e:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		})
	})
	err := lw.drain(ordered)
	cancel()
	for range ordered { // unblock the walker
	}
	wg.Wait()
	if err == nil {
		err = walkErr
	}
	if err == nil {
		err = lw.ctx.Err()
	}
	return err
}

// drain writes the entries in walk order until the walk ends or one fails.
func (lw *layerWriter) drain(ordered <-chan *layerEntry) error {
	for e := range ordered {
		select {
		case <-e.done:
		case <-lw.ctx.Done():
			return lw.ctx.Err()
		}
		if e.err != nil {
			return e.err
		}
		if err := lw.add(e); err != nil {
			return err
		}
	}
	return nil
}

func (lw *layerWriter) add(e *layerEntry) error {
	st := &e.st
	if e.hdr == nil {
		if st.Mode&unix.S_IFMT == unix.S_IFSOCK {
			return nil
		}
		wh := whiteoutHeader(e.rel, st)
		wh.ModTime = lw.wopts.clampTime(wh.ModTime)
		return lw.tw.WriteHeader(wh)
	}
	hdr := e.hdr
	hdr.ModTime = lw.wopts.clampTime(hdr.ModTime)
	lw.hardlink(hdr, st)
	setPAXXattrs(hdr, e.xattrs)
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		if e.data != nil {
			if _, err := lw.tw.Write(e.data); err != nil {
				return err
			}
		} else if err := lw.copyFile(e.p, hdr.Size); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeDir && isOpaque(e.xattrs) {
		return lw.tw.WriteHeader(opaqueHeader(hdr))
	}
	return nil
}

// hardlink turns hdr into a link to the first entry written for the same
// inode, or remembers hdr as that first entry.
func (lw *layerWriter) hardlink(hdr *tar.Header, st *unix.Stat_t) {
	if hdr.Typeflag == tar.TypeDir || st.Nlink <= 1 {
		return
	}
	key := inode{dev: uint64(st.Dev), ino: st.Ino}
	if first, ok := lw.links[key]; ok {
		hdr.Typeflag = tar.TypeLink
		hdr.Linkname = first
		hdr.Size = 0
		return
	}
	lw.links[key] = hdr.Name
}

func (lw *layerWriter) copyFile(p string, size int64) error {
	f, err := rawfile.Open(p, unix.O_NOFOLLOW)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := rawfile.CopyBuffer(lw.tw, io.LimitReader(ctxReader{ctx: lw.ctx, r: f}, size))
	if err == nil && n < size {
		err = io.ErrUnexpectedEOF // (as io.CopyN)
	}
	if err != nil {
		return fmt.Errorf("copying %s: %w", p, err)
	}
	return nil
}

// baseHeader holds the fields every entry takes from its inode, the way
// moby's FileInfoHeader fills them: permission and setuid/setgid/sticky
// bits, numeric owner, mtime truncated to the second, PAX format.
func baseHeader(name string, st *unix.Stat_t) *tar.Header {
	return &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Sec, 0),
		Format:  tar.FormatPAX,
	}
}

func fileHeader(p, rel string, st *unix.Stat_t) (*tar.Header, error) {
	hdr := baseHeader(rel, st)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = st.Size
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case unix.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = target
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor = int64(unix.Major(uint64(st.Rdev)))
		hdr.Devminor = int64(unix.Minor(uint64(st.Rdev)))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil, fmt.Errorf("%s: unknown file type %#o", p, st.Mode&unix.S_IFMT)
	}
	return hdr, nil
}

// whiteoutHeader is docker's conversion of an overlay whiteout: an empty
// regular file named .wh.<name>, mode 0600, keeping the device's owner and
// mtime. It is never a hard link, even when whiteouts share an inode.
func whiteoutHeader(rel string, st *unix.Stat_t) *tar.Header {
	dir, base := filepath.Split(rel)
	hdr := baseHeader(dir+whiteoutPrefix+base, st)
	hdr.Typeflag = tar.TypeReg
	hdr.Mode = 0o600
	return hdr
}

// opaqueHeader is docker's opaque marker written right after the directory
// entry dir: an empty regular file with the directory's permission bits and
// owner, and no mtime (written as 0).
func opaqueHeader(dir *tar.Header) *tar.Header {
	return &tar.Header{
		Typeflag: tar.TypeReg,
		Name:     dir.Name + whiteoutOpaque,
		Mode:     dir.Mode & 0o777,
		Uid:      dir.Uid,
		Gid:      dir.Gid,
		ModTime:  time.Unix(0, 0),
		Format:   tar.FormatPAX,
	}
}
