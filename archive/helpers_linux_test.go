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

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates devices, chowns and sets trusted.* xattrs")
	}
}

// entry describes one tar entry for building test layers.
type entry struct {
	name string
	typ  byte
	body string
	mode int64
	link string
	pax  map[string]string
}

func buildTar(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if e.typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{
			Name: e.name, Typeflag: e.typ, Mode: mode, Linkname: e.link,
			Size: int64(len(e.body)), ModTime: time.Unix(1600000000, 0), PAXRecords: e.pax,
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func listTar(t *testing.T, data []byte) []*tar.Header {
	t.Helper()
	var out []*tar.Header
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, hdr)
	}
}

func writeLayer(t *testing.T, dir string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteLayer(context.Background(), &buf, dir); err != nil {
		t.Fatalf("WriteLayer: %v", err)
	}
	return buf.Bytes()
}

// fileState is what the round trip compares for one path.
type fileState struct {
	typ, mode, uid, gid uint32
	rdev                uint64
	content, link       string
	xattrs              map[string]string
	mtime               int64
}

func snapshot(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		fs := fileState{
			typ: st.Mode & unix.S_IFMT, mode: st.Mode & 0o7777, uid: st.Uid, gid: st.Gid,
			rdev: st.Rdev, mtime: st.Mtim.Sec, xattrs: map[string]string{},
		}
		switch fs.typ {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fs.content = string(b)
		case unix.S_IFLNK:
			fs.link, _ = os.Readlink(p)
		}
		xs, err := readXattrs(p)
		if err != nil {
			return err
		}
		for k, v := range xs {
			fs.xattrs[k] = string(v)
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = fs
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameInode(t *testing.T, a, b string) bool {
	t.Helper()
	var sa, sb unix.Stat_t
	must(t, unix.Lstat(a, &sa))
	must(t, unix.Lstat(b, &sb))
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
