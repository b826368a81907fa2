package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzApply: no layer writes outside the destination or replaces it, with
// or without WithSymlinksInRoot. Each
// fuzz worker reuses one directory, emptied between calls (a fresh
// t.TempDir per call cost more than Apply itself). Seeds: a few layers and
// every malicious layer of TestBreakouts.
func FuzzApply(f *testing.F) {
	seeds := [][]entry{
		{{name: "etc/", typ: tar.TypeDir}, {name: "etc/passwd", typ: tar.TypeReg, body: "x"}},
		{{name: "l", typ: tar.TypeSymlink, link: "../.."}, {name: "l/x", typ: tar.TypeReg, body: "x"}},
		{{name: "l", typ: tar.TypeSymlink, link: "/"}, {name: "h", typ: tar.TypeLink, link: "l/etc/passwd"}},
		{{name: "../x", typ: tar.TypeReg}, {name: "a/.wh...", typ: tar.TypeReg}},
		{{name: "d/", typ: tar.TypeDir}, {name: "d/.wh..wh..opq", typ: tar.TypeReg}, {name: "d/.wh.f", typ: tar.TypeReg}},
		{{name: "f", typ: tar.TypeReg, body: "1"}, {name: "f/", typ: tar.TypeDir}, {name: "g", typ: tar.TypeLink, link: "f"}},
	}
	for _, c := range breakoutCases() {
		seeds = append(seeds, c.layer("../outside")) // the fuzz layout below: base/{root,outside}
	}
	for _, s := range seeds {
		f.Add(buildTar(f, s...), false)
		f.Add(buildTar(f, s...), true)
	}
	base := f.TempDir() // one per worker process
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	sentinel := filepath.Join(outside, "etc", "passwd")
	must(f, os.MkdirAll(filepath.Dir(sentinel), 0o755))
	must(f, os.WriteFile(sentinel, []byte("s"), 0o644))
	f.Fuzz(func(t *testing.T, layer []byte, overlay bool) {
		// each layer as a snapshot layer, and as ADD extracts an archive
		// (symlinks followed inside the root)
		for _, inRoot := range []bool{false, true} {
			resetDir(t, root)
			opts := []ApplyOption{WithNoSameOwner()}
			if overlay {
				opts = append(opts, WithOverlayWhiteouts())
			}
			if inRoot {
				opts = append(opts, WithSymlinksInRoot())
			}
			_, _ = Apply(context.Background(), root, bytes.NewReader(layer), opts...)
			entries, err := os.ReadDir(base)
			must(t, err)
			for _, e := range entries {
				if e.Name() != "root" && e.Name() != "outside" {
					t.Fatalf("Apply (in root: %v) wrote %s outside the root", inRoot, e.Name())
				}
			}
			if ents, err := os.ReadDir(filepath.Dir(sentinel)); err != nil || len(ents) != 1 {
				t.Fatalf("Apply (in root: %v) changed %s: %v %v", inRoot, filepath.Dir(sentinel), ents, err)
			}
			mustContent(t, sentinel, "s")
			if fi, err := os.Lstat(root); err != nil || !fi.IsDir() {
				t.Fatalf("root replaced: %v %v", fi, err)
			}
		}
	})
}

// resetDir makes dir an empty directory, whatever a layer left in it
// (directories without write or search permission included).
func resetDir(t *testing.T, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if d != nil && d.IsDir() {
				os.Chmod(p, 0o700)
			}
			return nil
		})
		os.Chmod(dir, 0o700)
		must(t, os.RemoveAll(dir))
	}
	must(t, os.Mkdir(dir, 0o755))
}
