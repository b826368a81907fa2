package copier

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestChecksum(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	write := func(p, body string) {
		os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte(body), 0o644)
	}
	write("src/a.go", "a")
	write("src/b.go", "b")
	write("other.txt", "o")
	write("src/ignored.log", "x")
	ignore := func(rel string) (bool, error) { return filepath.Ext(rel) == ".log", nil }
	src := Source{Root: root, Filter: ignore}
	sum := func() string {
		t.Helper()
		s, err := Checksum(ctx, src, []string{"src"}, Options{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := sum()
	steps := []struct {
		name   string
		change func()
		same   bool
	}{
		{"touch only", func() { old := time.Unix(1e9, 0); os.Chtimes(filepath.Join(root, "src/a.go"), old, old) }, true},
		{"file outside the sources", func() { write("other.txt", "changed") }, true},
		{"ignored file", func() { write("src/ignored.log", "changed") }, true},
		{"content", func() { write("src/a.go", "A") }, false},
		{"mode", func() { os.Chmod(filepath.Join(root, "src/b.go"), 0o755) }, false},
		{"new file", func() { write("src/c.go", "c") }, false},
		{"symlink", func() { os.Symlink("a.go", filepath.Join(root, "src/l")) }, false},
	}
	prev := base
	for _, s := range steps {
		s.change()
		got := sum()
		if (got == prev) != s.same {
			t.Errorf("%s: same=%v, want %v", s.name, got == prev, s.same)
		}
		prev = got
	}
	if _, err := Checksum(ctx, src, []string{"missing"}, Options{}, nil); err == nil {
		t.Error("a missing source must fail like Copy does")
	}
}

// TestChecksumGolden pins the checksum of a tree larger than the window of
// queued records (digests come from workers; the bytes hashed, and so the
// cache keys, are what they were when files were hashed one by one).
func TestChecksumGolden(t *testing.T) {
	root := t.TempDir()
	for d := 0; d < 30; d++ {
		dir := filepath.Join(root, "src", fmt.Sprintf("d%02d", d))
		os.MkdirAll(dir, 0o755)
		for f := 0; f < 100; f++ {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%03d", f)), []byte(strings.Repeat(fmt.Sprint(d*f), f%7+1)), 0o644)
		}
	}
	os.Symlink("d00/f000", filepath.Join(root, "src", "link"))
	os.Chmod(filepath.Join(root, "src", "d01", "f001"), 0o755)
	got, err := Checksum(context.Background(), Source{Root: root}, []string{"src"}, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := "73b85f3c094b9b2651877ce5f9eaf890390b9f5e8e414c6c440ff1206afd7558"; got != want {
		t.Errorf("checksum %s, want %s", got, want)
	}
	// a digest that fails fails the checksum, and no worker is left behind
	fail := func(abs string, fi os.FileInfo) (string, error) {
		if strings.HasSuffix(abs, "d17/f050") {
			return "", os.ErrPermission
		}
		return hashFile(abs, fi)
	}
	if _, err := Checksum(context.Background(), Source{Root: root}, []string{"src"}, Options{}, fail); !errors.Is(err, os.ErrPermission) {
		t.Errorf("a failing digest: %v", err)
	}
}
