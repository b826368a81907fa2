package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWriteLayerMtimeClamp: mtimes after the clamp become the clamp, older
// ones stay (rewrite-timestamp).
func TestWriteLayerMtimeClamp(t *testing.T) {
	dir := t.TempDir()
	old := time.Unix(1_000_000_000, 0)
	os.WriteFile(filepath.Join(dir, "new"), []byte("n"), 0o644)
	os.WriteFile(filepath.Join(dir, "old"), []byte("o"), 0o644)
	os.Chtimes(filepath.Join(dir, "old"), old, old)
	clamp := time.Unix(1_700_000_000, 0)
	var buf bytes.Buffer
	if err := WriteLayer(context.Background(), &buf, dir, WithMtimeClamp(clamp)); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		want := clamp
		if h.Name == "old" {
			want = old
		}
		if !h.ModTime.Equal(want) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, want)
		}
	}
}
