package copier

import (
	"context"
	"os"
	"path/filepath"
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
