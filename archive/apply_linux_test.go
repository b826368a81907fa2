package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestApply(t *testing.T) {
	requireRoot(t)
	type tc struct {
		name    string
		pre     func(t *testing.T, root string)
		entries []entry
		opts    []ApplyOption
		wantErr error
		check   func(t *testing.T, root string)
	}
	reg := func(name, body string) entry { return entry{name: name, typ: tar.TypeReg, body: body} }
	dir := func(name string, mode int64) entry { return entry{name: name, typ: tar.TypeDir, mode: mode} }
	mkfile := func(rel string) func(*testing.T, string) {
		return func(t *testing.T, root string) {
			must(t, os.MkdirAll(filepath.Dir(filepath.Join(root, rel)), 0o755))
			must(t, os.WriteFile(filepath.Join(root, rel), []byte("old"), 0o644))
		}
	}
	tests := []tc{
		{name: "PlainWhiteoutRemovesTree", pre: mkfile("d/sub/f"), entries: []entry{reg(".wh.d", "")},
			check: func(t *testing.T, root string) { mustMissing(t, filepath.Join(root, "d")) }},
		{name: "PlainOpaqueKeepsOnlyThisTar", pre: func(t *testing.T, root string) {
			mkfile("o/old")(t, root)
			mkfile("o/kept/stale")(t, root)
		}, entries: []entry{reg("o/-early", "e"), dir("o/kept/", 0o755), reg("o/.wh..wh..opq", ""), reg("o/new", "n")},
			check: func(t *testing.T, root string) {
				mustMissing(t, filepath.Join(root, "o/old"))
				mustMissing(t, filepath.Join(root, "o/kept/stale"))
				mustContent(t, filepath.Join(root, "o/-early"), "e")
				mustContent(t, filepath.Join(root, "o/new"), "n")
			}},
		{name: "FileReplacesDir", pre: mkfile("x/y"), entries: []entry{reg("x", "file")},
			check: func(t *testing.T, root string) { mustContent(t, filepath.Join(root, "x"), "file") }},
		{name: "DirOverDirKeepsChildren", pre: mkfile("x/y"), entries: []entry{dir("x/", 0o700)},
			check: func(t *testing.T, root string) {
				mustContent(t, filepath.Join(root, "x/y"), "old")
				mustMode(t, filepath.Join(root, "x"), os.ModeDir|0o700)
			}},
		{name: "DirMtimeSurvivesChildren", entries: []entry{dir("d/", 0o755), reg("d/a", "a"), reg("d/b", "b")},
			check: func(t *testing.T, root string) {
				fi, err := os.Stat(filepath.Join(root, "d"))
				must(t, err)
				if fi.ModTime().Unix() != 1600000000 {
					t.Errorf("dir mtime %v", fi.ModTime())
				}
			}},
		{name: "ImpliedParents", entries: []entry{reg("p/q/r", "r")},
			check: func(t *testing.T, root string) { mustMode(t, filepath.Join(root, "p/q"), os.ModeDir|0o755) }},
		{name: "OverlayWhiteout", pre: mkfile("d/f"), opts: []ApplyOption{WithOverlayWhiteouts()},
			entries: []entry{reg("d/.wh.f", ""), reg(".wh.gone", "")},
			check: func(t *testing.T, root string) {
				for _, p := range []string{"d/f", "gone"} {
					var st unix.Stat_t
					must(t, unix.Lstat(filepath.Join(root, p), &st))
					if st.Mode != unix.S_IFCHR || st.Rdev != 0 {
						t.Errorf("%s: mode %#o rdev %d, want whiteout", p, st.Mode, st.Rdev)
					}
				}
				mustMissing(t, filepath.Join(root, "d/.wh.f"))
			}},
		{name: "OverlayOpaque", opts: []ApplyOption{WithOverlayWhiteouts()},
			entries: []entry{dir("o/", 0o755), reg("o/.wh..wh..opq", ""), reg("o/f", "f")},
			check: func(t *testing.T, root string) {
				v, err := getXattr(filepath.Join(root, "o"), "trusted.overlay.opaque")
				if err != nil || string(v) != "y" {
					t.Errorf("opaque xattr %q %v", v, err)
				}
				mustMissing(t, filepath.Join(root, "o/.wh..wh..opq"))
			}},
		{name: "OverlayXattrNotTakenFromTar", entries: []entry{{name: "o/", typ: tar.TypeDir,
			pax: map[string]string{"SCHILY.xattr.trusted.overlay.redirect": "/x", "SCHILY.xattr.user.k": "v"}}},
			check: func(t *testing.T, root string) {
				if _, err := getXattr(filepath.Join(root, "o"), "trusted.overlay.redirect"); err == nil {
					t.Error("trusted.overlay.redirect taken from tar")
				}
				if v, _ := getXattr(filepath.Join(root, "o"), "user.k"); string(v) != "v" {
					t.Errorf("user.k = %q", v)
				}
			}},
		{name: "NoSameOwner", opts: []ApplyOption{WithNoSameOwner()}, entries: []entry{reg("f", "x")},
			check: func(t *testing.T, root string) {
				var st unix.Stat_t
				must(t, unix.Lstat(filepath.Join(root, "f"), &st))
				if int(st.Uid) != os.Getuid() {
					t.Errorf("uid %d", st.Uid)
				}
			}},
		{name: "UnsupportedType", entries: []entry{{name: "v", typ: 'V'}}, wantErr: ErrUnsupportedType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.pre != nil {
				tt.pre(t, root)
			}
			_, err := Apply(context.Background(), root, bytes.NewReader(buildTar(t, tt.entries...)), tt.opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Apply: got %v, want %v", err, tt.wantErr)
				}
				return
			}
			must(t, err)
			if tt.check != nil {
				tt.check(t, root)
			}
		})
	}
}

func TestApplyCountsAndDrains(t *testing.T) {
	layer := buildTar(t, entry{name: "a", typ: tar.TypeReg, body: "hello"}, entry{name: "b", typ: tar.TypeReg, body: "!!"})
	r := bytes.NewReader(append(layer, make([]byte, 4096)...))
	n, err := Apply(context.Background(), t.TempDir(), r, WithNoSameOwner())
	must(t, err)
	if n != 7 || r.Len() != 0 {
		t.Errorf("wrote %d bytes, %d left unread", n, r.Len())
	}
}

func TestApplyCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Apply(ctx, t.TempDir(), bytes.NewReader(buildTar(t, entry{name: "a", typ: tar.TypeReg})))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v", err)
	}
	if err := WriteLayer(ctx, &bytes.Buffer{}, t.TempDir()); !errors.Is(err, context.Canceled) {
		t.Errorf("WriteLayer: got %v", err)
	}
}

func mustMissing(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); !os.IsNotExist(err) {
		t.Errorf("%s: should not exist (%v)", p, err)
	}
}

func mustMode(t *testing.T, p string, want os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil || fi.Mode() != want {
		t.Errorf("%s: mode %v (%v), want %v", p, fi.Mode(), err, want)
	}
}
