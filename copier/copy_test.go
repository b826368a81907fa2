package copier

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// contextTree is the build context used by TestCopy.
var contextTree = tree{
	"a.txt":           "A",
	"b.txt":           "B",
	"c.go":            "C",
	"dir/f1":          "F1",
	"dir/sub/f2":      "F2",
	"dir/empty/":      "",
	"dir/rel-link":    "->f1",
	"src1/x.go":       "X1",
	"src2/y.go":       "Y2",
	"src2/z.txt":      "Z2",
	"link.txt":        "->a.txt",
	"dirlink":         "->dir",
	"abs-link":        "->/a.txt",
	"escape":          "->../../..",
	"nested/up":       "->../dir",
	"nested/escapeup": "->../../x",
}

func TestCopy(t *testing.T) {
	tests := []struct {
		name     string
		srcs     []string
		dest     string
		existing tree // in destRoot before the copy
		want     tree // destRoot after the copy (nil when wantErr)
		wantErr  error
		errText  string
	}{
		{name: "file to new name", srcs: []string{"a.txt"}, dest: "/x",
			want: tree{"x": "A"}},
		{name: "file into slash dir", srcs: []string{"a.txt"}, dest: "/d/e/",
			want: tree{"d/": "", "d/e/": "", "d/e/a.txt": "A"}},
		{name: "file into existing dir without slash", srcs: []string{"a.txt"}, dest: "/d",
			existing: tree{"d/": ""}, want: tree{"d/": "", "d/a.txt": "A"}},
		{name: "file overwrites file", srcs: []string{"a.txt"}, dest: "/x",
			existing: tree{"x": "old"}, want: tree{"x": "A"}},
		{name: "file onto dir in the way", srcs: []string{"a.txt"}, dest: "/d/",
			existing: tree{"d/a.txt/": ""}, wantErr: ErrIsDir},
		{name: "absolute source is relative to root", srcs: []string{"/a.txt"}, dest: "/x",
			want: tree{"x": "A"}},
		{name: "dir contents", srcs: []string{"dir"}, dest: "/d",
			want: tree{"d/": "", "d/f1": "F1", "d/sub/": "", "d/sub/f2": "F2", "d/empty/": "", "d/rel-link": "->f1"}},
		{name: "dir merges into existing", srcs: []string{"dir/sub"}, dest: "/d/",
			existing: tree{"d/old": "O"}, want: tree{"d/": "", "d/old": "O", "d/f2": "F2"}},
		{name: "dir onto file", srcs: []string{"dir/sub"}, dest: "/d",
			existing: tree{"d": "file"}, wantErr: ErrNotDir},
		{name: "root source", srcs: []string{"."}, dest: "/r/", existing: nil,
			want: prefixed("r/", contextTree)},
		{name: "several sources into slash dir", srcs: []string{"a.txt", "b.txt", "src1"}, dest: "/d/",
			want: tree{"d/": "", "d/a.txt": "A", "d/b.txt": "B", "d/x.go": "X1"}},
		{name: "several sources without slash", srcs: []string{"a.txt", "b.txt"}, dest: "/d",
			wantErr: ErrMultipleSources, errText: "destination must be a directory and end with a /"},
		{name: "several sources into existing dir without slash", srcs: []string{"a.txt", "b.txt"}, dest: "/d",
			existing: tree{"d/": ""}, want: tree{"d/": "", "d/a.txt": "A", "d/b.txt": "B"}},
		{name: "several dir sources merge", srcs: []string{"src1", "src2"}, dest: "/d",
			want: tree{"d/": "", "d/x.go": "X1", "d/y.go": "Y2", "d/z.txt": "Z2"}},
		{name: "wildcard", srcs: []string{"*.txt"}, dest: "/d/",
			want: tree{"d/": "", "d/a.txt": "A", "d/b.txt": "B", "d/link.txt": "A"}},
		{name: "wildcard several matches without slash", srcs: []string{"*.txt"}, dest: "/d",
			wantErr: ErrMultipleSources},
		{name: "wildcard single match names the file", srcs: []string{"*.go"}, dest: "/x",
			want: tree{"x": "C"}},
		{name: "wildcard per component", srcs: []string{"src?/*.go"}, dest: "/d/",
			want: tree{"d/": "", "d/x.go": "X1", "d/y.go": "Y2"}},
		{name: "wildcard class", srcs: []string{"[ab].txt"}, dest: "/d/",
			want: tree{"d/": "", "d/a.txt": "A", "d/b.txt": "B"}},
		{name: "wildcard dir copies contents", srcs: []string{"src*"}, dest: "/d/",
			want: tree{"d/": "", "d/x.go": "X1", "d/y.go": "Y2", "d/z.txt": "Z2"}},
		{name: "wildcard matching nothing", srcs: []string{"*.none"}, dest: "/d/",
			wantErr: ErrNotFound, errText: "no source files were specified"},
		{name: "wildcard matching nothing beside a source", srcs: []string{"*.none", "a.txt"}, dest: "/d/",
			want: tree{"d/": "", "d/a.txt": "A"}},
		{name: "missing source", srcs: []string{"missing.txt"}, dest: "/d/",
			wantErr: ErrNotFound, errText: `"missing.txt" not found`},
		{name: "missing parent of wildcard", srcs: []string{"nodir/*.go"}, dest: "/d/",
			wantErr: ErrNotFound},
		{name: "dotdot escape", srcs: []string{"../x"}, dest: "/d/", wantErr: ErrOutsideContext},
		{name: "dotdot escape after clean", srcs: []string{"dir/../../x"}, dest: "/d/", wantErr: ErrOutsideContext},
		{name: "symlink escape in the middle", srcs: []string{"escape/etc/passwd"}, dest: "/d/", wantErr: ErrOutsideContext},
		{name: "symlink escape at the end", srcs: []string{"nested/escapeup"}, dest: "/d/", wantErr: ErrOutsideContext},
		{name: "relative symlink in the middle", srcs: []string{"nested/up/f1"}, dest: "/x",
			want: tree{"x": "F1"}},
		{name: "absolute symlink is confined", srcs: []string{"abs-link"}, dest: "/d/",
			want: tree{"d/": "", "d/abs-link": "A"}},
		{name: "final symlink is followed", srcs: []string{"link.txt"}, dest: "/d/",
			want: tree{"d/": "", "d/link.txt": "A"}},
		{name: "final symlink to dir copies contents", srcs: []string{"dirlink"}, dest: "/d",
			want: tree{"d/": "", "d/f1": "F1", "d/sub/": "", "d/sub/f2": "F2", "d/empty/": "", "d/rel-link": "->f1"}},
		{name: "dest symlink followed", srcs: []string{"a.txt"}, dest: "/bin/",
			existing: tree{"usr/bin/": "", "bin": "->usr/bin"},
			want:     tree{"usr/": "", "usr/bin/": "", "usr/bin/a.txt": "A", "bin": "->usr/bin"}},
		{name: "dest absolute symlink stays in root", srcs: []string{"a.txt"}, dest: "/out/",
			existing: tree{"out": "->/../../tmp/elsewhere"},
			want:     tree{"out": "->/../../tmp/elsewhere", "tmp/": "", "tmp/elsewhere/": "", "tmp/elsewhere/a.txt": "A"}},
		{name: "dest final symlink to file is written through", srcs: []string{"a.txt"}, dest: "/x",
			existing: tree{"x": "->real", "real": "old"}, want: tree{"x": "->real", "real": "A"}},
		{name: "dest trailing dot", srcs: []string{"a.txt"}, dest: "/d/.",
			want: tree{"d/": "", "d/a.txt": "A"}},
	}
	for _, tt := range tests {
		// each case twice: into the tree itself, and into an empty upper dir
		// over the tree (Options.Below), judged by the union of both
		for _, upper := range []bool{false, true} {
			name := tt.name
			if upper {
				name += " (upper dir)"
			}
			t.Run(name, func(t *testing.T) {
				srcRoot, destRoot := t.TempDir(), t.TempDir()
				build(t, srcRoot, contextTree)
				var opts Options
				if upper {
					opts.Below = t.TempDir()
					build(t, opts.Below, tt.existing)
				} else {
					build(t, destRoot, tt.existing)
				}
				err := Copy(context.Background(), Source{Root: srcRoot}, tt.srcs, destRoot, tt.dest, opts)
				checkCopy(t, err, tt.wantErr, tt.errText)
				if err != nil {
					return
				}
				got := snapshot(t, destRoot)
				if upper {
					got = union(snapshot(t, opts.Below), got)
				}
				diffTrees(t, got, tt.want)
			})
		}
	}
}

// checkCopy fails t unless err is nil and wantErr too, or err is wantErr
// with errText in its message.
func checkCopy(t *testing.T, err, wantErr error, errText string) {
	t.Helper()
	switch {
	case wantErr == nil && err != nil:
		t.Fatal(err)
	case wantErr == nil:
	case !errors.Is(err, wantErr):
		t.Fatalf("err = %v, want %v", err, wantErr)
	case !strings.Contains(err.Error(), errText):
		t.Fatalf("err = %q, want it to contain %q", err, errText)
	}
}

// union is what overlayfs shows of upper over below (upper has no
// whiteouts): an entry of upper replaces below's, and everything below it
// unless both are directories.
func union(below, upper tree) tree {
	out := tree{}
	for p, c := range below {
		out[p] = c
	}
	for p := range upper {
		dir := strings.TrimSuffix(p, "/")
		if _, ok := below[dir+"/"]; ok && strings.HasSuffix(p, "/") {
			continue // merged
		}
		for q := range below {
			if q == dir || q == dir+"/" || strings.HasPrefix(q, dir+"/") {
				delete(out, q)
			}
		}
	}
	for p, c := range upper {
		out[p] = c
	}
	return out
}

// prefixed returns files with every path under dir (a "dir/" prefix), plus dir itself.
func prefixed(dir string, files tree) tree {
	out := tree{dir: ""}
	for p, c := range files {
		out[dir+p] = c
		for i := strings.Index(p, "/"); i >= 0 && i < len(p)-1; {
			out[dir+p[:i+1]] = ""
			j := strings.Index(p[i+1:], "/")
			if j < 0 {
				break
			}
			i += j + 1
		}
	}
	return out
}

func TestCopyCancelled(t *testing.T) {
	srcRoot, destRoot := t.TempDir(), t.TempDir()
	build(t, srcRoot, contextTree)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Copy(ctx, Source{Root: srcRoot}, []string{"dir"}, destRoot, "/d/", Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// fakeUnpacker takes files named *.tar for archives and "extracts" each
// as a directory dest holding a file named after the archive.
type fakeUnpacker struct{ calls []string }

func (u *fakeUnpacker) IsArchive(abs string) (bool, error) {
	return strings.HasSuffix(abs, ".tar"), nil
}

func (u *fakeUnpacker) Unpack(ctx context.Context, abs, destRoot, dest string) error {
	u.calls = append(u.calls, filepath.Base(abs)+" -> "+dest)
	dir := filepath.Join(destRoot, dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "from-"+filepath.Base(abs)), nil, 0o644)
}

func TestCopyUnpack(t *testing.T) {
	files := tree{"t.tar": "T", "b.tar": "B", "x.txt": "X", "d/in.tar": "I"}
	tests := []struct {
		name      string
		srcs      []string
		dest      string
		want      tree
		wantCalls []string
		wantErr   error
	}{
		{name: "wildcard archives to a dest without slash", srcs: []string{"*.tar"}, dest: "/dest",
			want:      tree{"dest/": "", "dest/from-b.tar": "", "dest/from-t.tar": ""},
			wantCalls: []string{"b.tar -> /dest", "t.tar -> /dest"}},
		{name: "archive then file", srcs: []string{"t.tar", "x.txt"}, dest: "/d",
			want:      tree{"d/": "", "d/from-t.tar": "", "d/x.txt": "X"},
			wantCalls: []string{"t.tar -> /d"}},
		{name: "files in a directory source are copied", srcs: []string{"d"}, dest: "/d/",
			want: tree{"d/": "", "d/in.tar": "I"}},
		{name: "two plain files still need a directory", srcs: []string{"t.tar", "x.txt", "x.txt"}, dest: "/d",
			wantErr: ErrMultipleSources},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcRoot, destRoot := t.TempDir(), t.TempDir()
			build(t, srcRoot, files)
			u := &fakeUnpacker{}
			err := Copy(context.Background(), Source{Root: srcRoot}, tt.srcs, destRoot, tt.dest, Options{Unpack: u})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			diffTrees(t, snapshot(t, destRoot), tt.want)
			if strings.Join(u.calls, ",") != strings.Join(tt.wantCalls, ",") {
				t.Errorf("unpacked %q, want %q", u.calls, tt.wantCalls)
			}
		})
	}
}
