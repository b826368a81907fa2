package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestTempDirSpread: the process temp dir is marked FS_TOPDIR_FL where
// the filesystem has the flag (ext4), so every TempDir is placed by the
// Orlov allocator rather than next to the store's last (deleted) trees.
func TestTempDirSpread(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fd, err := unix.Open(s.tmp, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetInt(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Skipf("the filesystem of %s has no inode flags: %v", s.tmp, err)
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil || st.Type != unix.EXT4_SUPER_MAGIC {
		t.Skipf("%s is not on ext4", s.tmp)
	}
	if flags&fsTopdirFL == 0 {
		t.Errorf("flags of %s = %#x, want FS_TOPDIR_FL (%#x)", s.tmp, flags, fsTopdirFL)
	}
	d, err := s.TempDir("x-")
	if err != nil {
		t.Fatal(err)
	}
	// not inherited: only the children of the temp dir are spread
	fd2, err := unix.Open(d, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd2)
	if f2, err := unix.IoctlGetInt(fd2, unix.FS_IOC_GETFLAGS); err == nil && f2&fsTopdirFL != 0 {
		t.Errorf("%s inherited FS_TOPDIR_FL", d)
	}
}

// TestTreeDir: a tree dir is a fresh temp dir (holding only the probe
// files) that Close removes.
func TestTreeDir(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.TreeDir("extract-")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(d) != s.tmp || !strings.HasPrefix(filepath.Base(d), "extract-") {
		t.Errorf("TreeDir = %s, want a new dir in %s", d, s.tmp)
	}
	ents, err := os.ReadDir(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".probe-") {
			t.Errorf("unexpected %s in a new tree dir", e.Name())
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Errorf("%s outlived the store: %v", d, err)
	}
}
