// Package rawfile reads and writes whole files through bare descriptors.
//
// os.File registers every descriptor it opens with the runtime's poller:
// for a regular file on Linux that is four fcntl calls and a failing
// epoll_ctl per open, and io.Copy from it allocates a 32 KiB buffer each
// time. A 10,000-file COPY opens every file four times (the cache key's
// checksum, the copy's source and target, the layer tar): 200,000 wasted
// syscalls and 1 GB of garbage. A File here is a descriptor and nothing
// else, for one goroutine reading or writing a file from start to end;
// buffers come from a pool.
package rawfile

import (
	"io"
	"os"
	"sync"
)

// File is an open descriptor. It is not safe for concurrent use.
type File struct {
	fd   int
	name string
}

// Name is the path File was opened with.
func (f *File) Name() string { return f.name }

// Fd is the descriptor.
func (f *File) Fd() int { return f.fd }

// bufSize is the size of the pooled copy buffers.
const bufSize = 64 << 10

var bufs = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// CopyBuffer is io.CopyBuffer with a pooled buffer (io.Copy allocates a
// fresh 32 KiB one whenever neither side is a ReaderFrom or WriterTo).
func CopyBuffer(dst io.Writer, src io.Reader) (int64, error) {
	b := bufs.Get().(*[]byte)
	defer bufs.Put(b)
	return io.CopyBuffer(dst, src, *b)
}

// WriteTo writes the rest of the file to w (io.WriterTo: io.Copy(w, f)
// uses it).
func (f *File) WriteTo(w io.Writer) (int64, error) {
	return CopyBuffer(w, struct{ io.Reader }{f})
}

// pathError is the error of op on the file's path.
func (f *File) pathError(op string, err error) error {
	return &os.PathError{Op: op, Path: f.name, Err: err}
}
