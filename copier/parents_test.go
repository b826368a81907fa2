package copier

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// parentsTree is the source of TestCopyParents, after BuildKit's
// testCopyRelativeParents.
var parentsTree = tree{
	"a/b/x.txt":         "X",
	"c/y.txt":           "Y",
	"a/x":               "AX",
	"a/b/c/x":           "ABCX",
	"a/b/y":             "ABY",
	"t/a/b/c/d/foo":     "FOO",
	"t/a/b/c/d/e/bay":   "BAY",
	"t/a/b2/c/d/e/bar":  "BAR",
	"t/a/b/c2/d/e/baz":  "BAZ",
	"t/a/b/c2/d/e2/baz": "BAZ2",
	"t/f/b3":            "a file named like a pivot",
	"l":                 "->t/a",
}

func TestCopyParents(t *testing.T) {
	tests := []struct {
		name    string
		srcs    []string
		dest    string
		want    tree
		wantErr error
	}{
		{name: "files keep their dirs", srcs: []string{"a/b/x.txt", "c/y.txt"}, dest: "/out",
			want: tree{"out/": "", "out/a/": "", "out/a/b/": "", "out/a/b/x.txt": "X", "out/c/": "", "out/c/y.txt": "Y"}},
		{name: "wildcard", srcs: []string{"a/*/x.txt"}, dest: "/out/",
			want: tree{"out/": "", "out/a/": "", "out/a/b/": "", "out/a/b/x.txt": "X"}},
		{name: "pivot", srcs: []string{"a/./b/x.txt"}, dest: "/out/",
			want: tree{"out/": "", "out/b/": "", "out/b/x.txt": "X"}},
		{name: "dir", srcs: []string{"t/a/b/c"}, dest: "/out/",
			want: tree{"out/": "", "out/t/": "", "out/t/a/": "", "out/t/a/b/": "", "out/t/a/b/c/": "", "out/t/a/b/c/d/": "",
				"out/t/a/b/c/d/foo": "FOO", "out/t/a/b/c/d/e/": "", "out/t/a/b/c/d/e/bay": "BAY"}},
		{name: "doublestar matches zero dirs too", srcs: []string{"a/**/x"}, dest: "/out/",
			want: tree{"out/": "", "out/a/": "", "out/a/x": "AX", "out/a/b/": "", "out/a/b/c/": "", "out/a/b/c/x": "ABCX"}},
		{name: "wildcard before the pivot", srcs: []string{"t/a/b*/./c/**/e"}, dest: "/out/",
			want: tree{"out/": "", "out/c/": "", "out/c/d/": "", "out/c/d/e/": "", "out/c/d/e/bay": "BAY", "out/c/d/e/bar": "BAR"}},
		{name: "two sources with pivots after wildcards", srcs: []string{"t/a/b/c*/./d/**/baz", "t/a/b*/./c/**/bar"}, dest: "/out/",
			want: tree{"out/": "", "out/d/": "", "out/d/e/": "", "out/d/e/baz": "BAZ", "out/d/e2/": "", "out/d/e2/baz": "BAZ2",
				"out/c/": "", "out/c/d/": "", "out/c/d/e/": "", "out/c/d/e/bar": "BAR"}},
		{name: "wildcard matching nothing makes only dest", srcs: []string{"t/a/nope*/c"}, dest: "/out/",
			want: tree{"out/": ""}},
		{name: "wildcard after the pivot matching nothing", srcs: []string{"t/a/b/./nope*"}, dest: "/out/",
			want: tree{"out/": ""}},
		{name: "pivot wildcard matching nothing copies nothing", srcs: []string{"t/nope*/./c"}, dest: "/out/",
			want: tree{}},
		{name: "file matched by the pivot", srcs: []string{"t/f/b*/./c"}, dest: "/out/",
			want: tree{"out/": "", "out/b3": "a file named like a pivot"}},
		{name: "pivot through a symlink", srcs: []string{"l/b/./c/d/foo"}, dest: "/out/",
			want: tree{"out/": "", "out/c/": "", "out/c/d/": "", "out/c/d/foo": "FOO"}},
		{name: "missing path", srcs: []string{"t/a/nope"}, dest: "/out/", wantErr: ErrNotFound},
		{name: "missing path after a pivot", srcs: []string{"t/./nope"}, dest: "/out/", wantErr: ErrNotFound},
		{name: "pattern through a symlink is not followed", srcs: []string{"l/b/c/d/foo"}, dest: "/out/", wantErr: ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, dst := t.TempDir(), t.TempDir()
			build(t, src, parentsTree)
			err := Copy(context.Background(), Source{Root: src}, tt.srcs, dst, tt.dest, Options{Parents: true})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			diffTrees(t, snapshot(t, dst), tt.want)
			if _, err := Checksum(context.Background(), Source{Root: src}, tt.srcs, Options{Parents: true}, nil); err != nil {
				t.Errorf("Checksum: %v", err)
			}
		})
	}
}

// TestCopyParentsDirModes checks that the directories --parents creates
// take the source directories' modes, as BuildKit's parent dirs do.
func TestCopyParentsDirModes(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	build(t, src, tree{"foo1/foo2/bar": "B", "foo1/foo2/baz": "Z"})
	for _, d := range []string{"foo1/foo2", "foo1"} {
		if err := os.Chmod(filepath.Join(src, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := Copy(context.Background(), Source{Root: src}, []string{"foo1/foo2/ba*"}, dst, "/test/", Options{Parents: true}); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{"test": 0o755, "test/foo1": 0o700, "test/foo1/foo2": 0o700} {
		if got := stat(t, dst, p).Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", p, got, want)
		}
	}
	diffTrees(t, snapshot(t, dst), tree{"test/": "", "test/foo1/": "", "test/foo1/foo2/": "",
		"test/foo1/foo2/bar": "B", "test/foo1/foo2/baz": "Z"})
}

// TestChecksumParents checks that the cache key of a --parents copy covers
// the directories it recreates and nothing it does not copy.
func TestChecksumParents(t *testing.T) {
	src := t.TempDir()
	build(t, src, tree{"d/keep/f": "F", "d/other/g": "G"})
	sum := func() string {
		t.Helper()
		s, err := Checksum(context.Background(), Source{Root: src}, []string{"d/keep/f"}, Options{Parents: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := sum()
	if err := os.WriteFile(filepath.Join(src, "d/other/g"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if sum() != before {
		t.Error("a file --parents does not copy changed the checksum")
	}
	if err := os.Chmod(filepath.Join(src, "d/keep"), 0o700); err != nil {
		t.Fatal(err)
	}
	if sum() == before {
		t.Error("the mode of a recreated parent directory did not change the checksum")
	}
}
