package archive

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// dirCache keeps the directories of the last entry's path open, so the
// next entry in the same directory (or below it: tars list a tree in walk
// order) opens only what is new instead of walking from the root again.
// Every descriptor was opened one component at a time with O_NOFOLLOW,
// like root.openDir. A path component can only be swapped for a symlink
// by removing it first: an entry removes only children of the directory
// open returned (the deepest cached one, so no cached directory), and
// whiteouts, which remove anything, call forget first. So the cache never
// hands out a directory that is gone.
type dirCache struct {
	root  *root
	names []string // the open path, one component each
	fds   []int    // fds[i] is names[:i+1] opened
	loose []int    // with WithSymlinksInRoot: the last directory opened, uncached
}

// open returns the directory rel (clean, relative, "." for the root) as a
// descriptor owned by the cache: the caller must not close it, and it is
// valid until the next open or forget. With create, missing directories
// are made (0755) and reported to made.
func (c *dirCache) open(rel string, create bool, made func(string)) (int, error) {
	if c.root.inRoot {
		// symlinks on the way are followed (openat2): nothing is cached
		c.forget()
		fd, err := c.root.openDir(rel, create, made)
		if err != nil {
			return -1, err
		}
		c.loose = append(c.loose, fd)
		return fd, nil
	}
	if rel == "." {
		c.truncate(0) // the returned directory is always the deepest cached one
		return c.root.fd, nil
	}
	parts := strings.Split(rel, "/")
	keep := 0
	for keep < len(parts) && keep < len(c.names) && parts[keep] == c.names[keep] {
		keep++
	}
	c.truncate(keep)
	for i := keep; i < len(parts); i++ {
		at := c.root.fd
		if i > 0 {
			at = c.fds[i-1]
		}
		next, err := openDirAt(at, parts[i])
		if errors.Is(err, unix.ENOENT) && create {
			next, err = mkdirAt(at, parts[i])
			if err == nil && made != nil {
				made(strings.Join(parts[:i+1], "/"))
			}
		}
		if err != nil {
			return -1, fmt.Errorf("opening %s: %w", strings.Join(parts[:i+1], "/"), err)
		}
		c.names = append(c.names, parts[i])
		c.fds = append(c.fds, next)
	}
	return c.fds[len(c.fds)-1], nil
}

// truncate closes the cached directories from depth n down.
func (c *dirCache) truncate(n int) {
	for _, fd := range c.fds[n:] {
		unix.Close(fd)
	}
	c.names, c.fds = c.names[:n], c.fds[:n]
}

// forget closes every cached directory: call it before removing anything.
func (c *dirCache) forget() {
	c.truncate(0)
	for _, fd := range c.loose {
		unix.Close(fd)
	}
	c.loose = c.loose[:0]
}
