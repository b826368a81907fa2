package copier

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/kiln-build/kiln/internal/rawfile"
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

// lchown sets the owner of p, or of the open file f if not nil, without
// following a symlink. Without root privileges a refused change is ignored
// so unprivileged use still works.
func lchown(f *rawfile.File, p string, uid, gid int) error {
	var err error
	if f != nil {
		err = f.Chown(uid, gid)
	} else {
		err = os.Lchown(p, uid, gid)
	}
	if err != nil && os.Geteuid() != 0 && errors.Is(err, syscall.EPERM) {
		return nil
	}
	if errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("owner %d:%d is not mapped in kiln's user namespace (rootless kiln maps the ids of /etc/subuid and /etc/subgid): %w", uid, gid, err)
	}
	return err
}

// chmod sets the mode of p (not a symlink), or of the open file f if not
// nil.
func chmod(f *rawfile.File, p string, mode os.FileMode) error {
	if f == nil {
		return os.Chmod(p, mode)
	}
	m := uint32(mode.Perm())
	if mode&os.ModeSetuid != 0 {
		m |= unix.S_ISUID
	}
	if mode&os.ModeSetgid != 0 {
		m |= unix.S_ISGID
	}
	if mode&os.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	return f.Chmod(m)
}

// setTimes copies atime and mtime of fi onto p, not following symlinks, or
// onto the open file f if not nil.
func setTimes(f *rawfile.File, p string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return os.Chtimes(p, fi.ModTime(), fi.ModTime())
	}
	atime := unix.NsecToTimespec(syscall.TimespecToNsec(st.Atim))
	mtime := unix.NsecToTimespec(syscall.TimespecToNsec(st.Mtim))
	if f != nil {
		return f.SetTimes(atime, mtime)
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{atime, mtime}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
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
