//go:build !linux

package copier

import (
	"errors"
	"os"

	"github.com/kiln-build/kiln/internal/rawfile"
)

// oNoFollow is not available here.
const oNoFollow = 0

// inodeKey identifies a source inode for hard-link detection.
type inodeKey struct{ dev, ino uint64 }

func inodeOf(os.FileInfo) (inodeKey, uint64) { return inodeKey{}, 1 }

func ownerOf(os.FileInfo) (int, int) { return 0, 0 }

func lchown(*rawfile.File, string, int, int) error { return nil }

func chmod(_ *rawfile.File, p string, mode os.FileMode) error { return os.Chmod(p, mode) }

func setTimes(_ *rawfile.File, p string, fi os.FileInfo) error {
	return os.Chtimes(p, fi.ModTime(), fi.ModTime())
}

func copyXattrs(string, string) {}

func mknod(string, os.FileInfo) error { return errors.ErrUnsupported }
