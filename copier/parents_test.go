package copier

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestCopyParents(t *testing.T) {
	cases := []struct {
		name string
		srcs []string
		want []string
	}{
		{"files keep their dirs", []string{"a/b/x.txt", "c/y.txt"}, []string{"out/a/b/x.txt", "out/c/y.txt"}},
		{"wildcard", []string{"a/*/x.txt"}, []string{"out/a/b/x.txt"}},
		{"pivot", []string{"a/./b/x.txt"}, []string{"out/b/x.txt"}},
		{"dir", []string{"a/b"}, []string{"out/a/b/x.txt"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, dst := t.TempDir(), t.TempDir()
			for _, f := range []string{"a/b/x.txt", "c/y.txt"} {
				os.MkdirAll(filepath.Join(src, filepath.Dir(f)), 0o755)
				os.WriteFile(filepath.Join(src, f), []byte(f), 0o644)
			}
			if err := Copy(context.Background(), Source{Root: src}, c.srcs, dst, "/out", Options{Parents: true}); err != nil {
				t.Fatal(err)
			}
			var got []string
			filepath.Walk(dst, func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.Mode().IsRegular() {
					rel, _ := filepath.Rel(dst, p)
					got = append(got, rel)
				}
				return nil
			})
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestCopyDoublestar(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	for _, f := range []string{"a/x", "a/b/x", "a/b/c/x", "a/b/y"} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(src, f), []byte(f), 0o644)
	}
	if err := Copy(context.Background(), Source{Root: src}, []string{"a/**/x"}, dst, "/out/", Options{Parents: true}); err != nil {
		t.Fatal(err)
	}
	// as BuildKit, a middle "**" matches one or more directories, so not a/x
	for _, f := range []string{"out/a/b/x", "out/a/b/c/x"} {
		if _, err := os.Stat(filepath.Join(dst, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "out/a/b/y")); err == nil {
		t.Error("a/b/y matched a/**/x")
	}
}
