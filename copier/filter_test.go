package copier

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/buildcontext"
)

func TestCopyDockerignore(t *testing.T) {
	files := tree{
		"app.go":          "APP",
		"secret.env":      "S",
		"docs/readme.md":  "R",
		"docs/keep.md":    "K",
		"docs/sub/x.md":   "X",
		"vendor/a/a.go":   "VA",
		"vendor/b/b.go":   "VB",
		"link-to-secret":  "->secret.env",
		"notes.txt":       "N",
		"other/notes.txt": "ON",
	}
	tests := []struct {
		name    string
		ignore  []string
		srcs    []string
		dest    string
		want    tree
		wantErr error
	}{
		{name: "ignored file in dir not copied", ignore: []string{"*.env", "docs/sub"}, srcs: []string{"."}, dest: "/r/",
			want: tree{"r/": "", "r/app.go": "APP", "r/docs/": "", "r/docs/readme.md": "R", "r/docs/keep.md": "K",
				"r/vendor/": "", "r/vendor/a/": "", "r/vendor/a/a.go": "VA", "r/vendor/b/": "", "r/vendor/b/b.go": "VB",
				"r/link-to-secret": "->secret.env", "r/notes.txt": "N", "r/other/": "", "r/other/notes.txt": "ON"}},
		{name: "explicit ignored file is not found", ignore: []string{"*.env"}, srcs: []string{"secret.env"}, dest: "/r/",
			wantErr: ErrNotFound},
		{name: "symlink to ignored file is not found", ignore: []string{"*.env"}, srcs: []string{"link-to-secret"}, dest: "/r/",
			wantErr: ErrNotFound},
		{name: "file under ignored dir is not found", ignore: []string{"docs"}, srcs: []string{"docs/keep.md"}, dest: "/r/",
			wantErr: ErrNotFound},
		{name: "re-included child of ignored dir", ignore: []string{"docs", "!docs/keep.md"}, srcs: []string{"docs"}, dest: "/r/",
			want: tree{"r/": "", "r/keep.md": "K"}},
		{name: "re-included child named explicitly", ignore: []string{"docs", "!docs/keep.md"}, srcs: []string{"docs/keep.md"}, dest: "/r/",
			want: tree{"r/": "", "r/keep.md": "K"}},
		{name: "ignored parent created for re-included child", ignore: []string{"vendor", "!vendor/b/b.go"}, srcs: []string{"vendor"}, dest: "/r/",
			want: tree{"r/": "", "r/b/": "", "r/b/b.go": "VB"}},
		{name: "wildcard skips ignored", ignore: []string{"notes.txt"}, srcs: []string{"*.txt", "*.go"}, dest: "/r/",
			want: tree{"r/": "", "r/app.go": "APP"}},
		{name: "double star pattern", ignore: []string{"**/*.md", "!docs/sub"}, srcs: []string{"docs"}, dest: "/r/",
			want: tree{"r/": "", "r/sub/": "", "r/sub/x.md": "X"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcRoot, destRoot := t.TempDir(), t.TempDir()
			build(t, srcRoot, files)
			bc, err := buildcontext.New(srcRoot, tt.ignore)
			if err != nil {
				t.Fatal(err)
			}
			src := Source{Root: srcRoot, Filter: bc.Excluded, FilterExceptions: bc.HasExceptions()}
			err = Copy(context.Background(), src, tt.srcs, destRoot, tt.dest, Options{})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			diffTrees(t, snapshot(t, destRoot), tt.want)
		})
	}
}

func TestCopyExclude(t *testing.T) {
	files := tree{
		"dir1/a.png": "1", "dir1/b.txt": "2", "dir1/c/d.png": "3",
		"dir2/e.pdf": "4", "dir2/f.txt": "5",
		"top.txt": "T",
	}
	tests := []struct {
		name     string
		excludes []string
		srcs     []string
		dest     string
		want     tree
		wantErr  string
	}{
		{name: "relative to each source dir", excludes: []string{"*.txt"}, srcs: []string{"dir*"}, dest: "/o/",
			want: tree{"o/": "", "o/a.png": "1", "o/c/": "", "o/c/d.png": "3", "o/e.pdf": "4"}},
		{name: "nested pattern from root source", excludes: []string{"*/*.png"}, srcs: []string{"."}, dest: "/o/",
			want: tree{"o/": "", "o/dir1/": "", "o/dir1/b.txt": "2", "o/dir1/c/": "", "o/dir1/c/d.png": "3",
				"o/dir2/": "", "o/dir2/e.pdf": "4", "o/dir2/f.txt": "5", "o/top.txt": "T"}},
		{name: "excluded dir", excludes: []string{"c"}, srcs: []string{"dir1"}, dest: "/o",
			want: tree{"o/": "", "o/a.png": "1", "o/b.txt": "2"}},
		{name: "exception under excluded dir", excludes: []string{"c", "!c/d.png"}, srcs: []string{"dir1"}, dest: "/o",
			want: tree{"o/": "", "o/a.png": "1", "o/b.txt": "2", "o/c/": "", "o/c/d.png": "3"}},
		{name: "top-level file source is not matched", excludes: []string{"*.txt"}, srcs: []string{"top.txt"}, dest: "/o/",
			want: tree{"o/": "", "o/top.txt": "T"}},
		{name: "bad pattern", excludes: []string{"["}, srcs: []string{"dir1"}, dest: "/o/", wantErr: "--exclude"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcRoot, destRoot := t.TempDir(), t.TempDir()
			build(t, srcRoot, files)
			err := Copy(context.Background(), Source{Root: srcRoot}, tt.srcs, destRoot, tt.dest, Options{Excludes: tt.excludes})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			diffTrees(t, snapshot(t, destRoot), tt.want)
		})
	}
}
