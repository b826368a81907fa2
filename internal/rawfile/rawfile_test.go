package rawfile

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCopyAndRead(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 1000, bufSize + 7, 3 << 20} {
		data := bytes.Repeat([]byte("kiln"), size/4+1)[:size]
		src := filepath.Join(dir, "src")
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := Open(src, 0)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "dst")
		os.Remove(dst)
		out, err := Create(dst, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := CopyFile(out, in, int64(size)); err != nil || n != int64(size) {
			t.Fatalf("size %d: CopyFile = %d, %v", size, n, err)
		}
		if err := out.Chmod(0o640); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
		got, _ := os.ReadFile(dst)
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: copy differs", size)
		}
		if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o640 {
			t.Errorf("mode %v", fi.Mode())
		}
		f, err := Open(dst, 0)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if n, err := f.WriteTo(h); err != nil || n != int64(size) {
			t.Fatalf("size %d: WriteTo = %d, %v", size, n, err)
		}
		f.Close()
		if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
			t.Errorf("size %d: digest differs", size)
		}
	}
	if _, err := Create(filepath.Join(dir, "dst"), 0o600); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create over a file: %v, want ErrExist", err)
	}
	if _, err := Open(filepath.Join(dir, "missing"), 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of nothing: %v, want ErrNotExist", err)
	}
}
