package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func plainTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	must(t, tw.WriteHeader(&tar.Header{Name: "hello.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5}))
	_, err := tw.Write([]byte("hello"))
	must(t, err)
	must(t, tw.Close())
	return buf.Bytes()
}

func compressWith(t *testing.T, c Compression, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch c {
	case Uncompressed:
		return data
	case Gzip:
		w := gzip.NewWriter(&buf)
		_, err := w.Write(data)
		must(t, err)
		must(t, w.Close())
	case Zstd:
		w, err := zstd.NewWriter(&buf)
		must(t, err)
		_, err = w.Write(data)
		must(t, err)
		must(t, w.Close())
	case Xz:
		w, err := xz.NewWriter(&buf)
		must(t, err)
		_, err = w.Write(data)
		must(t, err)
		must(t, w.Close())
	case Bzip2:
		if _, err := exec.LookPath("bzip2"); err != nil {
			t.Skip("bzip2 command not installed")
		}
		cmd := exec.Command("bzip2", "-c")
		cmd.Stdin, cmd.Stdout = bytes.NewReader(data), &buf
		must(t, cmd.Run())
	}
	return buf.Bytes()
}

func TestDecompress(t *testing.T) {
	data := plainTar(t)
	for _, c := range []Compression{Uncompressed, Gzip, Zstd, Bzip2, Xz} {
		t.Run(c.String(), func(t *testing.T) {
			rc, got, err := DecompressFormat(bytes.NewReader(compressWith(t, c, data)))
			must(t, err)
			defer rc.Close()
			if got != c {
				t.Errorf("detected %v, want %v", got, c)
			}
			out, err := io.ReadAll(rc)
			must(t, err)
			if !bytes.Equal(out, data) {
				t.Error("decompressed stream differs")
			}
		})
	}
}

func TestIsArchive(t *testing.T) {
	data := plainTar(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		must(t, os.WriteFile(p, b, 0o644))
		return p
	}
	tests := []struct {
		name string
		path func(t *testing.T) string
		want bool
	}{
		{"plain", func(t *testing.T) string { return write("a.tar", data) }, true},
		{"gzip", func(t *testing.T) string { return write("a.tgz", compressWith(t, Gzip, data)) }, true},
		{"zstd", func(t *testing.T) string { return write("a.tzst", compressWith(t, Zstd, data)) }, true},
		{"bzip2", func(t *testing.T) string { return write("a.tbz", compressWith(t, Bzip2, data)) }, true},
		{"xz", func(t *testing.T) string { return write("a.txz", compressWith(t, Xz, data)) }, true},
		{"text", func(t *testing.T) string { return write("a.txt", bytes.Repeat([]byte("not a tar\n"), 100)) }, false},
		{"gzippedText", func(t *testing.T) string {
			return write("t.gz", compressWith(t, Gzip, bytes.Repeat([]byte("text "), 200)))
		}, false},
		{"empty", func(t *testing.T) string { return write("empty", nil) }, false},
		{"brokenGzip", func(t *testing.T) string { return write("b.gz", []byte{0x1f, 0x8b, 0x08, 0, 1}) }, false},
		{"directory", func(t *testing.T) string { return dir }, false},
		{"symlinkToTar", func(t *testing.T) string {
			p := filepath.Join(dir, "link.tar")
			must(t, os.Symlink(write("target.tar", data), p))
			return p
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := IsArchive(tt.path(t))
			must(t, err)
			if got != tt.want {
				t.Errorf("IsArchive = %v, want %v", got, tt.want)
			}
		})
	}
	if _, err := IsArchive(filepath.Join(dir, "missing")); err == nil {
		t.Error("IsArchive of a missing file: want error")
	}
}

func FuzzDecompress(f *testing.F) {
	f.Add([]byte{0x1f, 0x8b, 0x08, 0})
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0})
	f.Add([]byte("BZh91AY&SY"))
	f.Add([]byte{0xfd, '7', 'z', 'X', 'Z', 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		rc, err := Decompress(bytes.NewReader(data))
		if err != nil {
			return
		}
		defer rc.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
	})
}
