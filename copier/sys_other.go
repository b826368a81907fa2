//go:build !linux

package copier

import (
	"errors"
	"os"
)

// oNoFollow is not available here.
const oNoFollow = 0

// inodeKey identifies a source inode for hard-link detection.
type inodeKey struct{ dev, ino uint64 }

func inodeOf(os.FileInfo) (inodeKey, uint64) { return inodeKey{}, 1 }

func ownerOf(os.FileInfo) (int, int) { return 0, 0 }

func lchown(string, int, int) error { return nil }

func setTimes(p string, fi os.FileInfo) error { return os.Chtimes(p, fi.ModTime(), fi.ModTime()) }

func copyXattrs(string, string) {}

func mknod(string, os.FileInfo) error { return errors.ErrUnsupported }
