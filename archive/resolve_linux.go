package archive

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// root is an open destination directory. Every path below it is reached
// one component at a time with O_NOFOLLOW, so no symlink, whoever wrote it,
// is ever followed while extracting — or, with inRoot, by openat2's
// RESOLVE_IN_ROOT, which follows symlinks as if the directory were "/".
type root struct {
	fd     int
	inRoot bool // WithSymlinksInRoot
}

func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &root{fd: fd}, nil
}

func (r *root) close() error { return unix.Close(r.fd) }

// openDir opens the directory rel (clean, relative, "." for the root) as
// an O_PATH descriptor the caller must close. A symlink on the way fails
// with ErrBreakout. With create, missing directories are made (0755) and
// reported to made.
func (r *root) openDir(rel string, create bool, made func(string)) (int, error) {
	if r.inRoot {
		return r.openDirInRoot(rel, create, made)
	}
	fd, err := unix.Openat(r.fd, ".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil || rel == "." {
		return fd, err
	}
	parts := strings.Split(rel, "/")
	for i, part := range parts {
		next, err := openDirAt(fd, part)
		if errors.Is(err, unix.ENOENT) && create {
			next, err = mkdirAt(fd, part)
			if err == nil && made != nil {
				made(strings.Join(parts[:i+1], "/"))
			}
		}
		unix.Close(fd)
		if err != nil {
			return -1, fmt.Errorf("opening %s: %w", strings.Join(parts[:i+1], "/"), err)
		}
		fd = next
	}
	return fd, nil
}

// openDirInRoot is openDir for WithSymlinksInRoot: symlinks on rel are
// followed, confined to the root; missing directories are made one
// component at a time. A dangling symlink on the way is an error.
func (r *root) openDirInRoot(rel string, create bool, made func(string)) (int, error) {
	fd, err := openInRoot(r.fd, rel)
	if err == nil || !create || !errors.Is(err, unix.ENOENT) {
		if err != nil {
			return -1, fmt.Errorf("opening %s: %w", rel, err)
		}
		return fd, nil
	}
	parent, err := openInRoot(r.fd, ".")
	if err != nil {
		return -1, err
	}
	cur := "."
	for _, part := range strings.Split(rel, "/") {
		cur = path.Join(cur, part)
		next, err := openInRoot(r.fd, cur)
		if errors.Is(err, unix.ENOENT) {
			// parent is where cur's parent resolves to, so part is
			// missing there, or a symlink whose target is
			err = unix.Mkdirat(parent, part, 0o755)
			if errors.Is(err, unix.EEXIST) {
				err = fmt.Errorf("a symlink whose target does not exist: %w", unix.ENOENT)
			}
			if err == nil {
				next, err = mkdirAt(parent, part)
				if err == nil && made != nil {
					made(cur)
				}
			}
		}
		unix.Close(parent)
		if err != nil {
			return -1, fmt.Errorf("opening %s: %w", cur, err)
		}
		parent = next
	}
	return parent, nil
}

// openInRoot opens the directory rel below rootfd, following symlinks as
// if rootfd were the root directory.
func openInRoot(rootfd int, rel string) (int, error) {
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(rootfd, rel, how)
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}

// openDirAt opens the directory name in dirfd without following symlinks.
func openDirAt(dirfd int, name string) (int, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == nil {
		return fd, nil
	}
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		var st unix.Stat_t
		if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return -1, fmt.Errorf("%w: %s is a symlink", ErrBreakout, name)
		}
	}
	return -1, err
}

func mkdirAt(dirfd int, name string) (int, error) {
	if err := unix.Mkdirat(dirfd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, err
	}
	if err := unix.Fchmodat(dirfd, name, 0o755, 0); err != nil {
		return -1, err
	}
	return openDirAt(dirfd, name)
}

// lstatAt stats name in dirfd without following it; ok is false when it
// does not exist.
func lstatAt(dirfd int, name string) (st unix.Stat_t, ok bool, err error) {
	err = unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return st, false, nil
	}
	return st, err == nil, err
}

// removeAt removes name from dirfd and, for a directory, everything below
// it, never following symlinks. A missing name is not an error.
func removeAt(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	names, err := readDirNames(dirfd, name)
	if err != nil {
		return err
	}
	sub, err := openDirAt(dirfd, name)
	if err != nil {
		return err
	}
	defer unix.Close(sub)
	for _, child := range names {
		if err := removeAt(sub, child); err != nil {
			return err
		}
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}

// readDirNames lists the directory name in dirfd ("." for dirfd itself).
func readDirNames(dirfd int, name string) ([]string, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return f.Readdirnames(-1)
}

// fdPath names name inside the directory open as dirfd through /proc, for
// the xattr calls that have no *at form. The directory part is a resolved
// magic link; the final component is looked up without following it by
// the l* calls.
func fdPath(dirfd int, name string) string {
	p := "/proc/self/fd/" + strconv.Itoa(dirfd)
	if name == "" || name == "." {
		return p
	}
	return p + "/" + name
}
