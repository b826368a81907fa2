package solver

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// epochTar is a gzipped tar whose newest regular file is at 1700000402;
// a newer directory and symlink do not count.
func epochTar(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range []tar.Header{
		{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(1800000000, 0)},
		{Name: "d/a", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: time.Unix(1700000401, 0)},
		{Name: "d/b", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: time.Unix(1700000402, 0)},
		{Name: "d/l", Typeflag: tar.TypeSymlink, Linkname: "a", ModTime: time.Unix(1800000000, 0)},
	} {
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func TestHTTPEpoch(t *testing.T) {
	archive := epochTar(t)
	sum := sha256.Sum256(archive)
	lastModified := time.Unix(1600000000, 0).UTC()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a.tar.gz":
			w.Write(archive)
		case "/modified":
			w.Header().Set("Last-Modified", lastModified.Format(http.TimeFormat))
			w.Write(archive)
		case "/text":
			w.Write([]byte("no archive"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	tests := []struct {
		name, path, checksum string
		want                 int64 // 0: no epoch
		wantErr              string
	}{
		{name: "newest regular file of an archive", path: "/a.tar.gz", want: 1700000402},
		{name: "with its checksum", path: "/a.tar.gz", checksum: "sha256:" + hex.EncodeToString(sum[:]), want: 1700000402},
		{name: "Last-Modified first", path: "/modified", want: lastModified.Unix()},
		{name: "no archive, no time", path: "/text"},
		{name: "checksum mismatch", path: "/a.tar.gz", checksum: "sha256:00", wantErr: "checksum mismatch"},
		{name: "not found", path: "/missing", wantErr: "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpEpoch(context.Background(), srv.URL+tt.path, tt.checksum)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == 0 && got != nil:
				t.Errorf("got %v, want no epoch", got)
			case tt.want != 0 && (got == nil || got.Unix() != tt.want):
				t.Errorf("got %v, want %d", got, tt.want)
			}
		})
	}
}
