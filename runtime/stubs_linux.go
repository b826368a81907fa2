package runtime

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// rootfsUsers counts the containers running on each rootfs and collects
// the mount points created in it, which are removed only when the last
// container on that rootfs is gone (removing a mount point detaches the
// mounts on it in every namespace).
var rootfsUsers = struct {
	sync.Mutex
	m map[string]*rootfsUse
}{m: map[string]*rootfsUse{}}

type rootfsUse struct {
	n     int
	stubs []string                    // relative paths created as mount points
	times map[string][2]unix.Timespec // atime and mtime of their existing parents
}

// acquireRootfs records the mount points the runtime is about to create in
// rootfs for mounts. The returned release removes them, and restores the
// times of the directories that held them, once no other container uses
// rootfs.
func acquireRootfs(rootfs string, mounts []specs.Mount) (release func() error) {
	rootfsUsers.Lock()
	defer rootfsUsers.Unlock()
	u := rootfsUsers.m[rootfs]
	if u == nil {
		u = &rootfsUse{times: map[string][2]unix.Timespec{}}
		rootfsUsers.m[rootfs] = u
	}
	u.n++
	known := map[string]bool{} // stubs, recorded before or now
	for _, p := range u.stubs {
		known[p] = true
	}
	root, rootErr := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if rootErr == nil {
		defer unix.Close(root)
	}
	stubs, files := mountStubs(rootfs, mounts)
	for _, p := range stubs {
		known[p] = true
	}
	for _, p := range stubs {
		// Record the times of the existing dirs that will hold new stubs
		// before creating any.
		parent := filepath.Dir(p)
		if _, ok := u.times[parent]; ok || known[parent] {
			continue
		}
		var st unix.Stat_t
		if unix.Lstat(filepath.Join(rootfs, parent), &st) == nil {
			u.times[parent] = [2]unix.Timespec{st.Atim, st.Mtim}
		}
	}
	for _, p := range stubs {
		if rootErr == nil {
			// Best effort: if this fails, the runtime creates the stub or reports why not.
			_ = createStub(root, p, files[p])
		}
		u.stubs = append(u.stubs, p)
	}
	return func() error {
		rootfsUsers.Lock()
		defer rootfsUsers.Unlock()
		if u.n--; u.n > 0 {
			return nil
		}
		delete(rootfsUsers.m, rootfs)
		return removeStubs(rootfs, u.stubs, u.times)
	}
}

// mountStubs returns the paths, relative to rootfs, that do not exist yet
// and that the runtime will create as mount points for mounts: every missing
// component of every destination, with symlinks resolved inside rootfs as the
// runtime resolves them.
//
// files holds the stubs that are files: the targets of bind mounts of files.
// Parents come before their children in stubs.
func mountStubs(rootfs string, mounts []specs.Mount) (stubs []string, files map[string]bool) {
	seen := map[string]bool{}
	files = map[string]bool{}
	for _, m := range mounts {
		full, err := securejoin.SecureJoin(rootfs, m.Destination)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(rootfs, full)
		if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
			continue
		}
		parts := strings.Split(rel, string(filepath.Separator))
		for i := range parts {
			p := filepath.Join(parts[:i+1]...)
			var st unix.Stat_t
			err := unix.Lstat(filepath.Join(rootfs, p), &st)
			if err == nil {
				continue
			}
			if !errors.Is(err, unix.ENOENT) {
				break
			}
			if !seen[p] {
				seen[p] = true
				stubs = append(stubs, p)
				files[p] = i == len(parts)-1 && isFileBind(m)
			}
		}
	}
	return stubs, files
}

func isFileBind(m specs.Mount) bool {
	bind := m.Type == "bind"
	for _, o := range m.Options {
		bind = bind || o == "bind" || o == "rbind"
	}
	fi, err := os.Stat(m.Source)
	return bind && err == nil && !fi.IsDir()
}

// createStub creates rel (relative to root) as an empty file or a directory,
// as the runtime would, so that containers starting at the same time on one
// rootfs do not race to create it.
func createStub(root int, rel string, file bool) error {
	dir, name := filepath.Split(rel)
	if dir == "" {
		dir = "."
	}
	parent, err := unix.Openat2(root, dir, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	if !file {
		return unix.Mkdirat(parent, name, 0o755)
	}
	fd, err := unix.Openat(parent, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	return unix.Close(fd)
}

// removeStubs removes the stubs (relative to rootfs) that are still empty
// directories or empty regular files, deepest first, then sets the atime and
// mtime of the dirs in times back. It never follows symlinks, so a container
// that replaced a directory with a symlink cannot make it touch anything
// outside rootfs. Stubs that are gone or no longer empty are left alone; the
// first other error is returned.
func removeStubs(rootfs string, stubs []string, times map[string][2]unix.Timespec) error {
	if len(stubs) == 0 && len(times) == 0 {
		return nil
	}
	sorted := append([]string(nil), stubs...)
	sort.Slice(sorted, func(i, j int) bool {
		return strings.Count(sorted[i], "/") > strings.Count(sorted[j], "/")
	})
	root, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(root)
	var first error
	for _, p := range sorted {
		if err := removeStub(root, p); err != nil && first == nil {
			first = err
		}
	}
	for dir, ts := range times {
		if err := restoreTimes(root, dir, ts); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// restoreTimes sets the atime and mtime of dir (relative to root).
func restoreTimes(root int, dir string, ts [2]unix.Timespec) error {
	fd, err := unix.Openat2(root, dir, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			return nil
		}
		return err
	}
	defer unix.Close(fd)
	return unix.UtimesNano("/proc/self/fd/"+strconv.Itoa(fd), ts[:])
}

func removeStub(root int, rel string) error {
	dir, name := filepath.Split(rel)
	if dir == "" {
		dir = "."
	}
	parent, err := unix.Openat2(root, dir, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			return nil
		}
		return err
	}
	defer unix.Close(parent)
	var st unix.Stat_t
	if err := unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		err = unix.Unlinkat(parent, name, unix.AT_REMOVEDIR)
	case st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == 0:
		err = unix.Unlinkat(parent, name, 0)
	default:
		return nil
	}
	if errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EBUSY) {
		return nil
	}
	return err
}
