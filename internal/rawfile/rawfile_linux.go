package rawfile

import (
	"io"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SetTimes sets the open file's atime and mtime (futimens: utimensat with
// the descriptor and no path, which x/sys/unix has no wrapper for).
func (f *File) SetTimes(atime, mtime unix.Timespec) error {
	ts := [2]unix.Timespec{atime, mtime}
	_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(f.fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	if errno != 0 {
		return f.pathError("utimes", errno)
	}
	return nil
}

// CopyFile copies the rest of src into dst: in the kernel
// (copy_file_range) where the filesystems allow, else through a buffer.
func CopyFile(dst, src *File) (int64, error) {
	var total int64
	for {
		n, err := unix.CopyFileRange(src.fd, nil, dst.fd, nil, 1<<30, 0)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			if total == 0 { // EXDEV, EINVAL, ENOSYS, EOPNOTSUPP…: not here
				return CopyBuffer(dst, src)
			}
			return total, src.pathError("copy_file_range", err)
		case n == 0:
			return total, nil
		}
		total += int64(n)
	}
}

var _ io.WriterTo = (*File)(nil)
