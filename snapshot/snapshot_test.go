package snapshot

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for overlay mounts")
	}
}

func TestPrepareCommitView(t *testing.T) {
	needRoot(t)
	ctx := context.Background()
	tmp := t.TempDir()
	base := filepath.Join(tmp, "base")
	os.MkdirAll(filepath.Join(base, "etc"), 0o755)
	os.WriteFile(filepath.Join(base, "etc", "a"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(base, "etc", "b"), []byte("b"), 0o644)

	a, err := Prepare(ctx, tmp, []string{base})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(a.Root(), "etc", "a")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(a.Root(), "new"), []byte("n"), 0o644)
	upper, err := a.Commit()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(filepath.Join(upper, "etc", "a"))
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("want whiteout for etc/a in upper, got %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(upper, "etc", "b")); !os.IsNotExist(err) {
		t.Fatalf("untouched file copied up: %v", err)
	}

	// a deep stack: more layers than a mount(2) option string could name
	var lowers []string
	for i := 0; i < 120; i++ {
		l := filepath.Join(tmp, "l", "a-fairly-long-directory-name-to-stress-option-length", string(rune('a'+i%26))+string(rune('a'+i/26)))
		os.MkdirAll(l, 0o755)
		lowers = append(lowers, l)
	}
	lowers = append([]string{upper}, append(lowers, base)...)
	v, err := View(ctx, tmp, lowers)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	if _, err := os.Stat(filepath.Join(v.Root(), "etc", "a")); !os.IsNotExist(err) {
		t.Errorf("deleted file visible in view: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(v.Root(), "new")); string(b) != "n" {
		t.Errorf("new file: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(v.Root(), "etc", "b")); string(b) != "b" {
		t.Errorf("base file: %q", b)
	}
	if err := os.WriteFile(filepath.Join(v.Root(), "x"), nil, 0o644); err == nil {
		t.Error("view is writable")
	}
}
