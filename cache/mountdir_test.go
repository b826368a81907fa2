package cache

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// tree lists the files of dir as rel=content, and its dirs and symlinks.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			tgt, _ := os.Readlink(p)
			out = append(out, rel+"->"+tgt)
		case fi.IsDir():
			out = append(out, rel+"/")
		default:
			b, _ := os.ReadFile(p)
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, " ")
}

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStageDir(t *testing.T) {
	src := t.TempDir()
	write(t, src, map[string]string{"a/old": "1111", "a/new": "22", "b/mid": "333", "top": "4"})
	os.Symlink("a/new", filepath.Join(src, "link"))
	now := time.Now()
	for rel, age := range map[string]time.Duration{"a/old": 3 * time.Hour, "b/mid": 2 * time.Hour, "a/new": time.Hour, "top": 0} {
		os.Chtimes(filepath.Join(src, rel), now.Add(-age), now.Add(-age))
	}
	os.Chmod(filepath.Join(src, "b"), 0o555) // read-only, as a Go module dir
	defer os.Chmod(filepath.Join(src, "b"), 0o755)
	all := "a/ a/new=22 a/old=1111 b/ b/mid=333 link->a/new top=4"
	for _, tt := range []struct {
		name     string
		limit    int64
		newest   bool
		want     string
		n        int64
		complete bool
	}{
		{"unbounded", 0, false, all, 10, true},
		{"under the limit", 10, false, all, 10, true},
		{"over, all or nothing", 9, false, "", 0, false},
		{"over, newest first", 6, true, "a/ a/new=22 b/ b/mid=333 link->a/new top=4", 6, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "view")
			n, complete, err := StageDir(context.Background(), src, dst, tt.limit, tt.newest)
			if err != nil {
				t.Fatal(err)
			}
			if n != tt.n || complete != tt.complete {
				t.Errorf("n %d complete %v, want %d %v", n, complete, tt.n, tt.complete)
			}
			if got := tree(t, dst); got != tt.want {
				t.Errorf("staged %q\nwant %q", got, tt.want)
			}
			if tt.want == "" {
				return
			}
			// hard links: the view costs no copy
			a, _ := os.Stat(filepath.Join(src, "top"))
			b, _ := os.Stat(filepath.Join(dst, "top"))
			if !os.SameFile(a, b) {
				t.Error("top was copied, not linked")
			}
			if fi, _ := os.Stat(filepath.Join(dst, "b")); fi.Mode().Perm() != 0o555 {
				t.Errorf("b has mode %v, want the source's 0555", fi.Mode().Perm())
			}
			if err := RemoveTree(dst); err != nil {
				t.Errorf("RemoveTree: %v", err)
			}
		})
	}
}

func TestMergeDir(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	write(t, src, map[string]string{"shared/new": "from src", "shared/both": "src", "only-src/x": "1", "f": "src"})
	write(t, dst, map[string]string{"shared/both": "dst", "only-dst": "2", "f": "dst"})
	if err := MergeDir(context.Background(), src, dst); err != nil {
		t.Fatal(err)
	}
	want := "f=dst only-dst=2 only-src/ only-src/x=1 shared/ shared/both=dst shared/new=from src"
	if got := tree(t, dst); got != want {
		t.Errorf("merged %q\nwant %q", got, want)
	}
}
