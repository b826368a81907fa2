package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func FuzzApply(f *testing.F) {
	seeds := [][]entry{
		{{name: "etc/", typ: tar.TypeDir}, {name: "etc/passwd", typ: tar.TypeReg, body: "x"}},
		{{name: "l", typ: tar.TypeSymlink, link: "../.."}, {name: "l/x", typ: tar.TypeReg, body: "x"}},
		{{name: "l", typ: tar.TypeSymlink, link: "/"}, {name: "h", typ: tar.TypeLink, link: "l/etc/passwd"}},
		{{name: "../x", typ: tar.TypeReg}, {name: "a/.wh...", typ: tar.TypeReg}},
		{{name: "d/", typ: tar.TypeDir}, {name: "d/.wh..wh..opq", typ: tar.TypeReg}, {name: "d/.wh.f", typ: tar.TypeReg}},
		{{name: "f", typ: tar.TypeReg, body: "1"}, {name: "f/", typ: tar.TypeDir}, {name: "g", typ: tar.TypeLink, link: "f"}},
	}
	for _, s := range seeds {
		f.Add(buildTar(f, s...), false)
		f.Add(buildTar(f, s...), true)
	}
	f.Fuzz(func(t *testing.T, layer []byte, overlay bool) {
		base := t.TempDir()
		root := filepath.Join(base, "root")
		must(t, os.Mkdir(root, 0o755))
		must(t, os.WriteFile(filepath.Join(base, "sentinel"), []byte("s"), 0o644))
		opts := []ApplyOption{WithNoSameOwner()}
		if overlay {
			opts = append(opts, WithOverlayWhiteouts())
		}
		_, _ = Apply(context.Background(), root, bytes.NewReader(layer), opts...)
		entries, err := os.ReadDir(base)
		must(t, err)
		for _, e := range entries {
			if e.Name() != "root" && e.Name() != "sentinel" {
				t.Fatalf("Apply wrote %s outside the root", e.Name())
			}
		}
		mustContent(t, filepath.Join(base, "sentinel"), "s")
		if fi, err := os.Lstat(root); err != nil || !fi.IsDir() {
			t.Fatalf("root replaced: %v %v", fi, err)
		}
	})
}
