//go:build unix && !linux

package rawfile

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// SetTimes sets the file's atime and mtime.
func (f *File) SetTimes(atime, mtime unix.Timespec) error {
	return os.Chtimes(f.name, time.Unix(atime.Unix()), time.Unix(mtime.Unix()))
}

// CopyFile copies the rest of src into dst.
func CopyFile(dst, src *File) (int64, error) { return CopyBuffer(dst, src) }
