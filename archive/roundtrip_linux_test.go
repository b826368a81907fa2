package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// capNetBindService is a v2 vfs_cap_data granting CAP_NET_BIND_SERVICE.
var capNetBindService = string([]byte{1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})

// makeTree builds a snapshot dir holding every kind of entry WriteLayer
// handles, with fixed mtimes (nanoseconds set, to check truncation).
func makeTree(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	p := func(s string) string { return filepath.Join(d, s) }
	for _, dir := range []string{"etc", "bin", "a", "b", "run", "w", "opq", "dev", "usr/lib"} {
		must(t, os.MkdirAll(p(dir), 0o755))
	}
	must(t, os.WriteFile(p("etc/passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644))
	must(t, os.WriteFile(p("bin/tool"), []byte("#!/bin/sh\n"), 0o755))
	must(t, os.Chown(p("bin/tool"), 0, 0))
	must(t, os.Chmod(p("bin/tool"), 0o755|os.ModeSetuid))
	must(t, unix.Lsetxattr(p("bin/tool"), "security.capability", []byte(capNetBindService), 0))
	must(t, unix.Lsetxattr(p("etc/passwd"), "user.comment", []byte("hello"), 0))
	must(t, os.Chown(p("etc/passwd"), 1000, 1001))
	must(t, os.Symlink("usr/lib", p("lib")))
	must(t, os.Symlink("/nowhere", p("dangling")))
	must(t, os.WriteFile(p("a/one"), []byte("linked"), 0o640))
	must(t, os.Link(p("a/one"), p("b/two")))
	must(t, unix.Mkfifo(p("run/fifo"), 0o600))
	must(t, unix.Mknod(p("gone"), unix.S_IFCHR, 0))
	must(t, unix.Mknod(p("w/x"), unix.S_IFCHR, 0))
	must(t, os.Link(p("w/x"), p("w/y")))
	must(t, unix.Mknod(p("dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(t, unix.Lsetxattr(p("opq"), "trusted.overlay.opaque", []byte("y"), 0))
	must(t, os.WriteFile(p("opq/keep"), []byte("kept"), 0o644))
	must(t, os.Chmod(p("run"), os.ModeSticky|0o777))
	f, err := os.Create(p("sparse"))
	must(t, err)
	must(t, f.Truncate(8<<20))
	_, err = f.WriteAt([]byte("end"), 8<<20)
	must(t, err)
	must(t, f.Close())
	setTreeTimes(t, d)
	return d
}

func setTreeTimes(t *testing.T, d string) {
	t.Helper()
	var paths []string
	must(t, filepath.Walk(d, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}))
	for i := len(paths) - 1; i >= 1; i-- {
		ts := unix.NsecToTimespec(time.Unix(1500000000+int64(i), 123456789).UnixNano())
		must(t, unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	}
}

func TestRoundTrip(t *testing.T) {
	requireRoot(t)
	src := makeTree(t)
	layer := writeLayer(t, src)
	if again := writeLayer(t, src); !bytes.Equal(layer, again) {
		t.Fatal("WriteLayer is not deterministic")
	}
	dst := t.TempDir()
	n, err := Apply(context.Background(), dst, bytes.NewReader(layer), WithOverlayWhiteouts())
	must(t, err)
	if want := int64(len("root:x:0:0::/root:/bin/sh\n") + len("#!/bin/sh\n") + len("linked") + len("kept") + 8<<20 + 3); n != want {
		t.Errorf("Apply wrote %d bytes, want %d", n, want)
	}
	want, got := snapshot(t, src), snapshot(t, dst)
	for name, w := range want {
		if g, ok := got[name]; !ok {
			t.Errorf("%s: missing after round trip", name)
		} else if !reflect.DeepEqual(w, g) {
			t.Errorf("%s: round trip changed it\nwant %+v\ngot  %+v", name, w, g)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: appeared after round trip", name)
		}
	}
	if !sameInode(t, filepath.Join(dst, "a/one"), filepath.Join(dst, "b/two")) {
		t.Error("a/one and b/two are no longer hard linked")
	}
	if again := writeLayer(t, dst); !bytes.Equal(layer, again) {
		t.Error("layer of the extracted tree differs from the original layer")
	}
}

func TestWriteLayerEntries(t *testing.T) {
	requireRoot(t)
	src := makeTree(t)
	type row struct {
		typ        byte
		mode       int64
		link       string
		mtime      int64
		size       int64
		devmajor   int64
		devminor   int64
		xattrCount int
	}
	got := map[string]row{}
	var names []string
	for _, h := range listTar(t, writeLayer(t, src)) {
		names = append(names, h.Name)
		if h.Uname != "" || h.Gname != "" || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: has names or atime/ctime: %+v", h.Name, h)
		}
		got[h.Name] = row{h.Typeflag, h.Mode, h.Linkname, h.ModTime.Unix(), h.Size, h.Devmajor, h.Devminor, len(h.PAXRecords)}
	}
	wantNames := []string{"a/", "a/one", "b/", "b/two", "bin/", "bin/tool", "dangling", "dev/", "dev/null",
		"etc/", "etc/passwd", ".wh.gone", "lib", "opq/", "opq/.wh..wh..opq", "opq/keep", "run/", "run/fifo",
		"sparse", "usr/", "usr/lib/", "w/", "w/.wh.x", "w/.wh.y"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("entries:\n got %q\nwant %q", names, wantNames)
	}
	tests := []struct {
		name string
		want func(row) bool
	}{
		{".wh.gone", func(r row) bool { return r.typ == tar.TypeReg && r.mode == 0o600 && r.link == "" && r.size == 0 }},
		{"w/.wh.x", func(r row) bool { return r.typ == tar.TypeReg && r.mode == 0o600 && r.link == "" }},
		{"w/.wh.y", func(r row) bool { return r.typ == tar.TypeReg && r.mode == 0o600 && r.link == "" }},
		{"opq/.wh..wh..opq", func(r row) bool { return r.typ == tar.TypeReg && r.mode == 0o755 && r.mtime == 0 }},
		{"opq/", func(r row) bool { return r.typ == tar.TypeDir && r.xattrCount == 0 }},
		{"b/two", func(r row) bool { return r.typ == tar.TypeLink && r.link == "a/one" && r.size == 0 }},
		{"bin/tool", func(r row) bool { return r.mode == 0o4755 && r.xattrCount == 1 }},
		{"etc/passwd", func(r row) bool { return r.xattrCount == 1 }},
		{"dev/null", func(r row) bool { return r.typ == tar.TypeChar && r.devmajor == 1 && r.devminor == 3 }},
		{"run/", func(r row) bool { return r.mode == 0o1777 }},
		{"lib", func(r row) bool { return r.typ == tar.TypeSymlink && r.link == "usr/lib" }},
		{"run/fifo", func(r row) bool { return r.typ == tar.TypeFifo }},
		{"sparse", func(r row) bool { return r.size == 8<<20+3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := got[tt.name]; !tt.want(r) {
				t.Errorf("unexpected header %+v", r)
			}
		})
	}
}
