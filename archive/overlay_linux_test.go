package archive

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestWriteLayerRealOverlay lets the kernel write the whiteouts and opaque
// markers and checks the layer tar WriteLayer makes from its upper dir.
func TestWriteLayerRealOverlay(t *testing.T) {
	requireRoot(t)
	base := t.TempDir()
	lower, upper, work, merged := filepath.Join(base, "l"), filepath.Join(base, "u"), filepath.Join(base, "w"), filepath.Join(base, "m")
	for _, d := range []string{lower, upper, work, merged, filepath.Join(lower, "dir/sub"), filepath.Join(lower, "gone"), filepath.Join(lower, "redo")} {
		must(t, os.MkdirAll(d, 0o755))
	}
	must(t, os.WriteFile(filepath.Join(lower, "file"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(lower, "dir/sub/f"), []byte("x"), 0o644))
	must(t, os.WriteFile(filepath.Join(lower, "redo/old"), []byte("x"), 0o644))
	must(t, os.Symlink("/does/not/exist", filepath.Join(lower, "dangling")))
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", 0, opts); err != nil {
		t.Skipf("overlay mount not available: %v", err)
	}
	mounted := true
	defer func() {
		if mounted {
			unix.Unmount(merged, 0)
		}
	}()
	m := func(s string) string { return filepath.Join(merged, s) }
	must(t, os.Remove(m("file")))
	must(t, os.Remove(m("dangling")))
	must(t, os.RemoveAll(m("gone")))
	must(t, os.WriteFile(m("gone"), []byte("now a file"), 0o644))
	must(t, os.RemoveAll(m("redo")))
	must(t, os.Mkdir(m("redo"), 0o750))
	must(t, os.WriteFile(m("redo/new"), []byte("n"), 0o644))
	must(t, os.RemoveAll(m("dir/sub")))
	must(t, unix.Unmount(merged, 0))
	mounted = false

	got := map[string]*tar.Header{}
	for _, h := range listTar(t, writeLayer(t, upper)) {
		got[h.Name] = h
	}
	tests := []struct {
		name string
		typ  byte
	}{
		{".wh.file", tar.TypeReg},
		{".wh.dangling", tar.TypeReg},
		{"gone", tar.TypeReg},
		{"redo/", tar.TypeDir},
		{"redo/.wh..wh..opq", tar.TypeReg},
		{"redo/new", tar.TypeReg},
		{"dir/", tar.TypeDir},
		{"dir/.wh.sub", tar.TypeReg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := got[tt.name]
			if !ok {
				t.Fatalf("no entry %q in %v", tt.name, keys(got))
			}
			if h.Typeflag != tt.typ || h.Linkname != "" {
				t.Errorf("entry %q: type %q linkname %q", tt.name, h.Typeflag, h.Linkname)
			}
		})
	}
	for name := range got {
		if filepath.Base(name) == "old" || name == "file" || name == "dangling" {
			t.Errorf("unexpected entry %q", name)
		}
	}
}

func keys(m map[string]*tar.Header) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
