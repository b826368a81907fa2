//go:build !linux

package cache

import "os"

// statKey: without a change time and inode, size and mtime must do.
func statKey(fi os.FileInfo) (statEntry, bool) {
	return statEntry{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}, true
}
