package store

import (
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// fsTopdirFL is FS_TOPDIR_FL (chattr +T): ext4's Orlov allocator places
// each new subdirectory of such a directory in a block group of its own
// choosing, one with free inodes and blocks above average and few
// directories, instead of next to its parent.
const fsTopdirFL = 0x00020000

// spreadDir marks dir so that the directories made in it are spread over
// the filesystem (ext4; elsewhere a no-op). kiln marks its temp dir so
// that each extraction or step starts in a fresh block group: on ext4
// without a journal, inode allocation skips inodes deleted in the last 1
// to 6 minutes one by one, so a tree written where an older tree was just
// deleted (a store removed and made anew, a pruned snapshot) creates each
// file in time proportional to the free inodes of its group. Measured on
// this machine: tar -xzf of the golang base after deleting an extraction
// in the same directory 11.9-22.2 s (5-9 s in the kernel), into a
// directory marked +T 3.6-6.5 s (0.8-1.5 s).
func spreadDir(dir string) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	if err != nil || flags&fsTopdirFL != 0 {
		return // not supported here (tmpfs, overlay, …), or already set
	}
	_ = unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, flags|fsTopdirFL)
}

// TreeDir is TempDir for a directory about to receive a large tree (a
// layer being extracted). On ext4 without a journal, creating a file in a
// block group where many inodes were deleted in the last minutes costs
// time in proportion to them (see spreadDir), and the Orlov allocator
// likes such groups: their directories are gone, their inodes and blocks
// free. So TreeDir creates a few probe files in the new directory and,
// when they cost far more CPU than files do, makes another one (the
// allocator places it elsewhere: the first now counts against its group),
// up to treeTries directories, and returns the cheapest. The others are
// removed when the store is closed.
func (s *Store) TreeDir(pattern string) (string, error) {
	best, bestCost := "", time.Duration(1<<62)
	for i := 0; i < treeTries; i++ {
		dir, err := s.TempDir(pattern)
		if err != nil {
			return "", err
		}
		cost := probeCreates(dir)
		if cost < bestCost {
			best, bestCost = dir, cost
		}
		if cost < probeFiles*slowCreate {
			break
		}
	}
	return best, nil
}

const (
	treeTries  = 12
	probeFiles = 64
	// slowCreate is the CPU time of one file create above which a block
	// group is taken to be full of recently deleted inodes: a create costs
	// 11-17 µs here (64 in 0.72-1.09 ms of CPU), one in such a group 64 µs
	// and more (4.1-4.4 ms).
	slowCreate = 40 * time.Microsecond
)

// probeCreates creates probeFiles empty files in dir and returns the CPU
// time this thread spent on it.
func probeCreates(dir string) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU()
	for i := 0; i < probeFiles; i++ {
		fd, err := unix.Open(filepath.Join(dir, ".probe-"+strconv.Itoa(i)), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return 0 // cannot tell: take it
		}
		unix.Close(fd)
	}
	return threadCPU() - start
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
