package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestCommitNormalizes: a RUN-like change set commits to the diff BuildKit
// writes: no copied-up unchanged dirs, whiteouts instead of opaque markers.
func TestCommitNormalizes(t *testing.T) {
	needRoot(t)
	tmp := t.TempDir()
	base := filepath.Join(tmp, "base")
	for _, d := range []string{"etc", "dev", "w/opq", "w/keep", "bin"} {
		os.MkdirAll(filepath.Join(base, d), 0o755)
	}
	os.WriteFile(filepath.Join(base, "w/opq/old1"), nil, 0o644)
	os.WriteFile(filepath.Join(base, "w/opq/old2"), nil, 0o644)
	os.Symlink("busybox", filepath.Join(base, "bin/sed"))
	a, err := Prepare(context.Background(), tmp, []string{base})
	if err != nil {
		t.Fatal(err)
	}
	r := a.Root()
	// copy up /etc and /dev without changing them (as mount point setup does)
	fi, _ := os.Stat(filepath.Join(r, "etc"))
	os.WriteFile(filepath.Join(r, "etc", "tmp-mountpoint"), nil, 0o644)
	os.Remove(filepath.Join(r, "etc", "tmp-mountpoint"))
	os.Chtimes(filepath.Join(r, "etc"), fi.ModTime(), fi.ModTime())
	os.Chmod(filepath.Join(r, "dev"), 0o755)
	// delete and recreate a dir: opaque in overlay
	os.RemoveAll(filepath.Join(r, "w/opq"))
	os.MkdirAll(filepath.Join(r, "w/opq"), 0o755)
	os.WriteFile(filepath.Join(r, "w/opq/new"), []byte("n"), 0o644)
	// a dir where the base had a symlink
	os.Remove(filepath.Join(r, "bin/sed"))
	os.Mkdir(filepath.Join(r, "bin/sed"), 0o755)
	upper, err := a.Commit()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	var got []string
	filepath.Walk(upper, func(p string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(upper, p)
		if rel == "." {
			return nil
		}
		kind := "f"
		switch {
		case fi.IsDir() && isOpaque(p):
			kind = "opaque"
		case fi.IsDir():
			kind = "d"
		case isWhiteout(fi):
			kind = "wh"
		}
		got = append(got, rel+":"+kind)
		return nil
	})
	sort.Strings(got)
	want := []string{"bin:d", "bin/sed:d", "w:d", "w/opq:d", "w/opq/new:f", "w/opq/old1:wh", "w/opq/old2:wh"}
	sort.Strings(want)
	if len(got) != len(want) {
		t.Fatalf("upper = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("upper = %v, want %v", got, want)
		}
	}
}
