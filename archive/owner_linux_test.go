package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestApplyRefusesWideOwners: chown takes 32-bit ids, so a uid of 2^40
// would become 0 (root) if passed on; such entries are refused.
func TestApplyRefusesWideOwners(t *testing.T) {
	for _, tt := range []struct {
		name     string
		uid, gid int
	}{
		{"uid 2^40", 1 << 40, 0},
		{"gid 2^40", 0, 1 << 40},
		{"uid 2^32", 1 << 32, 0},
		{"uid -1 as 32 bits", 1<<32 - 1, 0},
		{"negative gid", 0, -5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o4755, Size: 1, Uid: tt.uid, Gid: tt.gid, Format: tar.FormatPAX})
			tw.Write([]byte("x"))
			tw.Close()
			dir := t.TempDir()
			_, err := Apply(context.Background(), dir, &buf)
			if !errors.Is(err, ErrInvalidOwner) {
				t.Fatalf("Apply: %v, want ErrInvalidOwner", err)
			}
			if _, err := os.Lstat(filepath.Join(dir, "f")); err == nil {
				t.Error("the entry was written")
			}
		})
	}
}
