//go:build unix

package rawfile

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Open opens name read-only; flag adds open flags (unix.O_NOFOLLOW, say).
func Open(name string, flag int) (*File, error) {
	return open(name, unix.O_RDONLY|flag, 0)
}

// Create makes the new file name for writing with permissions perm (before
// the umask); it fails if anything is there, and follows no symlink.
func Create(name string, perm uint32) (*File, error) {
	return open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW, perm)
}

func open(name string, flag int, perm uint32) (*File, error) {
	for {
		fd, err := unix.Open(name, flag|unix.O_CLOEXEC, perm)
		if err == nil {
			return &File{fd: fd, name: name}, nil
		}
		if err != unix.EINTR {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
	}
}

// Read is io.Reader's Read: io.EOF at the end.
func (f *File) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := unix.Read(f.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, f.pathError("read", err)
		case n == 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

// Write writes all of p.
func (f *File) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		n, err := unix.Write(f.fd, p[written:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return written, f.pathError("write", err)
		}
		written += n
	}
	return written, nil
}

// Close closes the descriptor.
func (f *File) Close() error {
	if f.fd < 0 {
		return nil
	}
	err := unix.Close(f.fd)
	f.fd = -1
	if err != nil && !errors.Is(err, unix.EINTR) {
		return f.pathError("close", err)
	}
	return nil
}

// Chown, Chmod and SetTimes change the open file's metadata without a
// path lookup. mode is in the syscall's form (unix.S_ISUID…, 0o7777).
func (f *File) Chown(uid, gid int) error {
	if err := unix.Fchown(f.fd, uid, gid); err != nil {
		return f.pathError("chown", err)
	}
	return nil
}

func (f *File) Chmod(mode uint32) error {
	if err := unix.Fchmod(f.fd, mode); err != nil {
		return f.pathError("chmod", err)
	}
	return nil
}
