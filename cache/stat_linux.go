package cache

import (
	"os"
	"syscall"
)

// statKey is what says a file is unchanged since it was hashed.
func statKey(fi os.FileInfo) (statEntry, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return statEntry{}, false
	}
	return statEntry{Size: fi.Size(), Mtime: st.Mtim.Nano(), Ctime: st.Ctim.Nano(), Inode: st.Ino}, true
}
