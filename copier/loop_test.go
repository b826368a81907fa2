package copier

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A symlink loop in a COPY source says so, for Copy and Checksum.
func TestSymlinkLoop(t *testing.T) {
	root := t.TempDir()
	os.Symlink("b", filepath.Join(root, "a"))
	os.Symlink("a", filepath.Join(root, "b"))
	src := Source{Root: root}
	_, err := Checksum(context.Background(), src, []string{"a"}, Options{}, nil)
	if !errors.Is(err, syscall.ELOOP) || !strings.Contains(err.Error(), "symlink loop") {
		t.Errorf("Checksum: %v", err)
	}
	err = Copy(context.Background(), src, []string{"a"}, t.TempDir(), "/x", Options{})
	if !errors.Is(err, syscall.ELOOP) || !strings.Contains(err.Error(), "symlink loop") {
		t.Errorf("Copy: %v", err)
	}
}
