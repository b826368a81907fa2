package copier

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// oNoFollow makes open fail on a symlink.
const oNoFollow = syscall.O_NOFOLLOW

// inodeKey identifies a source inode for hard-link detection.
type inodeKey struct{ dev, ino uint64 }

// inodeOf returns the inode identity and link count of fi.
func inodeOf(fi os.FileInfo) (inodeKey, uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return inodeKey{}, 1
	}
	return inodeKey{dev: st.Dev, ino: st.Ino}, st.Nlink
}

// ownerOf returns the uid and gid recorded in fi.
func ownerOf(fi os.FileInfo) (int, int) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0
	}
	return int(st.Uid), int(st.Gid)
}

// lchown sets the owner of p without following a symlink. Without root
// privileges a refused change is ignored so unprivileged use still works.
func lchown(p string, uid, gid int) error {
	err := os.Lchown(p, uid, gid)
	if err != nil && os.Geteuid() != 0 && errors.Is(err, syscall.EPERM) {
		return nil
	}
	if errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("owner %d:%d is not mapped in kiln's user namespace (rootless kiln maps the ids of /etc/subuid and /etc/subgid): %w", uid, gid, err)
	}
	return err
}

// setTimes copies atime and mtime of fi onto p, not following symlinks.
func setTimes(p string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return os.Chtimes(p, fi.ModTime(), fi.ModTime())
	}
	ts := []unix.Timespec{
		unix.NsecToTimespec(syscall.TimespecToNsec(st.Atim)),
		unix.NsecToTimespec(syscall.TimespecToNsec(st.Mtim)),
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: p, Err: err}
	}
	return nil
}

// copyXattrs copies the extended attributes of src to dst. Like BuildKit,
// failures (unsupported filesystem, forbidden namespace) are ignored.
func copyXattrs(src, dst string) {
	size, err := unix.Llistxattr(src, nil)
	if err != nil || size <= 0 {
		return
	}
	buf := make([]byte, size)
	n, err := unix.Llistxattr(src, buf)
	if err != nil {
		return
	}
	for _, name := range splitNull(buf[:n]) {
		vsize, err := unix.Lgetxattr(src, name, nil)
		if err != nil {
			continue
		}
		val := make([]byte, vsize)
		vn, err := unix.Lgetxattr(src, name, val)
		if err != nil {
			continue
		}
		_ = unix.Lsetxattr(dst, name, val[:vn], 0)
	}
}

// splitNull splits a NUL-separated list of names.
func splitNull(b []byte) []string {
	var out []string
	start := 0
	for i, c := range b {
		if c == 0 {
			if i > start {
				out = append(out, string(b[start:i]))
			}
			start = i + 1
		}
	}
	return out
}

// mknod recreates a device, fifo or socket like fi at p.
func mknod(p string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return errors.ErrUnsupported
	}
	return unix.Mknod(p, st.Mode, int(st.Rdev))
}
