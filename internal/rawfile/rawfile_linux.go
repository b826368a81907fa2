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
// size is what src held when it was looked at: once that much is copied,
// the call that would find the end is skipped, so a file that grew since is
// cut at size, as a tar writer cuts it (one that shrank is copied to its
// end).
func CopyFile(dst, src *File, size int64) (int64, error) {
	var total int64
	for {
		want := 1 << 30
		if total < size {
			want = int(min(size-total, 1<<30))
		}
		n, err := unix.CopyFileRange(src.fd, nil, dst.fd, nil, want, 0)
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
		if total == size && n == want {
			return total, nil
		}
	}
}

var _ io.WriterTo = (*File)(nil)
