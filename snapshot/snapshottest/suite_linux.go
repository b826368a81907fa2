package snapshottest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"syscall"
	"testing"

	"github.com/kiln-build/kiln/snapshot"
	"golang.org/x/sys/unix"
)

// Run runs the suite; open returns a fresh Snapshotter for each test.
func Run(t *testing.T, open func(t *testing.T) snapshot.Snapshotter) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, snapshot.Snapshotter)
	}{
		{"CommitFromNothing", testCommitFromNothing},
		{"ChangesOverParent", testChangesOverParent},
		{"NoChangeIsEmpty", testNoChangeIsEmpty},
		{"MetadataOnly", testMetadataOnly},
		{"HardLinkToLower", testHardLinkToLower},
		{"DirectoryReplaced", testDirectoryReplaced},
		{"NormalizedLikeBuildKit", testNormalized},
		{"PrepareUpper", testPrepareUpper},
		{"ViewStacks", testViewStacks},
		{"ViewIsReadOnly", testViewIsReadOnly},
		{"FirstCommitWins", testFirstCommitWins},
		{"Extract", testExtract},
		{"ListTouchRemove", testListTouchRemove},
		{"Cancelled", testCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var ctx = context.Background()

// commit prepares over parents (ids, top first), lets change write, and
// commits the result as id.
func commit(t *testing.T, sn snapshot.Snapshotter, id string, parents []string, change func(root string)) {
	t.Helper()
	a, err := sn.Prepare(ctx, paths(sn, parents))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Release()
	change(a.Root())
	if err := a.Commit(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(); err != nil {
		t.Fatalf("Release after Commit: %v", err)
	}
}

func paths(sn snapshot.Snapshotter, ids []string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, sn.Path(id))
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	must(t, os.MkdirAll(filepath.Dir(p), 0o755))
	must(t, os.WriteFile(p, []byte(content), 0o644))
}

// Tree describes a directory: path → "f:content", "d", "l:target" or
// "w" (a whiteout).
func Tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		switch m := fi.Mode(); {
		case m.IsDir():
			out[rel] = "d"
		case m.IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = "f:" + string(b)
		case m&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[rel] = "l:" + l
		case m&os.ModeCharDevice != 0 && fi.Sys().(*syscall.Stat_t).Rdev == 0:
			out[rel] = "w"
		default:
			out[rel] = fmt.Sprint(m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func expectTree(t *testing.T, what, dir string, want map[string]string) {
	t.Helper()
	if got := Tree(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got  %v\n want %v", what, sorted(got), sorted(want))
	}
}

func sorted(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func base(t *testing.T, sn snapshot.Snapshotter) {
	commit(t, sn, "base", nil, func(r string) {
		write(t, r, "etc/a", "a")
		write(t, r, "etc/b", "b")
		write(t, r, "dir/sub/x", "x")
		write(t, r, "keep/k", "k")
		must(t, os.Symlink("etc/a", filepath.Join(r, "link")))
	})
}

func testCommitFromNothing(t *testing.T, sn snapshot.Snapshotter) {
	base(t, sn)
	if !sn.Exists("base") || sn.Exists("other") {
		t.Fatal("Exists is wrong")
	}
	expectTree(t, "base", sn.Path("base"), map[string]string{
		"etc": "d", "etc/a": "f:a", "etc/b": "f:b", "dir": "d", "dir/sub": "d", "dir/sub/x": "f:x",
		"keep": "d", "keep/k": "f:k", "link": "l:etc/a"})
}

func testChangesOverParent(t *testing.T, sn snapshot.Snapshotter) {
	base(t, sn)
	commit(t, sn, "step", []string{"base"}, func(r string) {
		must(t, os.Remove(filepath.Join(r, "etc/a")))
		write(t, r, "etc/b", "B")
		write(t, r, "new/n", "n")
		must(t, os.RemoveAll(filepath.Join(r, "dir")))
		must(t, os.Remove(filepath.Join(r, "link")))
		must(t, os.Symlink("etc/b", filepath.Join(r, "link")))
	})
	expectTree(t, "step", sn.Path("step"), map[string]string{
		"etc": "d", "etc/a": "w", "etc/b": "f:B", "new": "d", "new/n": "f:n", "dir": "w", "link": "l:etc/b"})
}

// testPrepareUpper: a writer of PrepareUpper's Root sees the lowers in
// Below (or, without upper dirs, in Root itself), and what it adds to Root
// is the committed change.
func testPrepareUpper(t *testing.T, sn snapshot.Snapshotter) {
	base(t, sn)
	a, err := sn.PrepareUpper(ctx, paths(sn, []string{"base"}))
	must(t, err)
	defer a.Release()
	view := a.Below()
	if view == "" {
		view = a.Root()
	} else {
		expectTree(t, "upper dir", a.Root(), map[string]string{})
	}
	if b, err := os.ReadFile(filepath.Join(view, "etc/a")); err != nil || string(b) != "a" {
		t.Fatalf("etc/a below = %q, %v", b, err)
	}
	write(t, a.Root(), "new/n", "n")
	must(t, a.Commit(ctx, "step"))
	must(t, a.Release())
	expectTree(t, "step", sn.Path("step"), map[string]string{"new": "d", "new/n": "f:n"})
}

func testNoChangeIsEmpty(t *testing.T, sn snapshot.Snapshotter) {
	base(t, sn)
	commit(t, sn, "nothing", []string{"base"}, func(r string) {
		b, err := os.ReadFile(filepath.Join(r, "etc/a"))
		if err != nil || string(b) != "a" {
			t.Errorf("reading a lower file: %q %v", b, err)
		}
	})
	expectTree(t, "nothing", sn.Path("nothing"), map[string]string{})
}

func testMetadataOnly(t *testing.T, sn snapshot.Snapshotter) {
	base(t, sn)
	commit(t, sn, "chmod", []string{"base"}, func(r string) {
		must(t, os.Chmod(filepath.Join(r, "etc/a"), 0o600))
	})
	expectTree(t, "chmod", sn.Path("chmod"), map[string]string{"etc": "d", "etc/a": "f:a"})
	fi, err := os.Lstat(filepath.Join(sn.Path("chmod"), "etc/a"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("etc/a mode: %v %v", fi, err)
	}
}

func testHardLinkToLower(t *testing.T, sn snapshot.Snapshotter) {
	base(t, sn)
	commit(t, sn, "link", []string{"base"}, func(r string) {
		must(t, os.Link(filepath.Join(r, "etc/b"), filepath.Join(r, "hard")))
	})
	expectTree(t, "link", sn.Path("link"), map[string]string{"hard": "f:b"})
}

func testDirectoryReplaced(t *testing.T, sn snapshot.Snapshotter) {
	base(t, sn)
	commit(t, sn, "replaced", []string{"base"}, func(r string) {
		must(t, os.RemoveAll(filepath.Join(r, "dir")))
		write(t, r, "dir/fresh", "f")
	})
	expectTree(t, "replaced", sn.Path("replaced"), map[string]string{"dir": "d", "dir/fresh": "f:f", "dir/sub": "w"})
}

func testViewStacks(t *testing.T, sn snapshot.Snapshotter) {
	base(t, sn)
	commit(t, sn, "step", []string{"base"}, func(r string) {
		must(t, os.Remove(filepath.Join(r, "etc/a")))
		write(t, r, "etc/b", "B")
	})
	commit(t, sn, "top", []string{"step", "base"}, func(r string) {
		write(t, r, "etc/a", "again")
	})
	v, err := sn.View(ctx, paths(sn, []string{"top", "step", "base"}))
	must(t, err)
	defer v.Release()
	expectTree(t, "view", v.Root(), map[string]string{
		"etc": "d", "etc/a": "f:again", "etc/b": "f:B", "dir": "d", "dir/sub": "d", "dir/sub/x": "f:x",
		"keep": "d", "keep/k": "f:k", "link": "l:etc/a"})
	empty, err := sn.View(ctx, nil)
	must(t, err)
	defer empty.Release()
	expectTree(t, "empty view", empty.Root(), map[string]string{})
}

func testViewIsReadOnly(t *testing.T, sn snapshot.Snapshotter) {
	base(t, sn)
	v, err := sn.View(ctx, paths(sn, []string{"base"}))
	must(t, err)
	defer v.Release()
	if err := v.Commit(ctx, "x"); !errors.Is(err, snapshot.ErrReadOnly) {
		t.Errorf("Commit of a View: %v, want ErrReadOnly", err)
	}
}

func testFirstCommitWins(t *testing.T, sn snapshot.Snapshotter) {
	commit(t, sn, "same", nil, func(r string) { write(t, r, "f", "first") })
	commit(t, sn, "same", nil, func(r string) { write(t, r, "f", "second") })
	expectTree(t, "same", sn.Path("same"), map[string]string{"f": "f:first"})
}

func testExtract(t *testing.T, sn snapshot.Snapshotter) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "etc/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.WriteHeader(&tar.Header{Name: "etc/f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 2})
	tw.Write([]byte("hi"))
	tw.WriteHeader(&tar.Header{Name: "etc/.wh.gone", Typeflag: tar.TypeReg})
	tw.Close()
	must(t, sn.Extract(ctx, "layer", bytes.NewReader(buf.Bytes())))
	expectTree(t, "extracted", sn.Path("layer"), map[string]string{"etc": "d", "etc/f": "f:hi", "etc/gone": "w"})
	// an existing snapshot is kept as it is
	must(t, sn.Extract(ctx, "layer", bytes.NewReader(nil)))
	expectTree(t, "extracted again", sn.Path("layer"), map[string]string{"etc": "d", "etc/f": "f:hi", "etc/gone": "w"})
}

func testListTouchRemove(t *testing.T, sn snapshot.Snapshotter) {
	commit(t, sn, "one", nil, func(r string) { write(t, r, "f", "12345") })
	commit(t, sn, "two", nil, func(r string) { write(t, r, "g", "1") })
	infos, err := sn.List()
	must(t, err)
	sizes := map[string]int64{}
	for _, in := range infos {
		sizes[in.ID] = in.Bytes
	}
	if !reflect.DeepEqual(sizes, map[string]int64{"one": 5, "two": 1}) {
		t.Errorf("List sizes: %v", sizes)
	}
	must(t, sn.Remove("one"))
	if sn.Exists("one") || !sn.Exists("two") {
		t.Error("Remove removed the wrong snapshot")
	}
	sn.Touch("two")
}

func testCancelled(t *testing.T, sn snapshot.Snapshotter) {
	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := sn.Prepare(c, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Prepare with a cancelled context: %v", err)
	}
}

// testNormalized: a RUN-like change set commits to the diff BuildKit
// writes: no copied-up unchanged dirs, whiteouts instead of opaque markers.
func testNormalized(t *testing.T, sn snapshot.Snapshotter) {
	commit(t, sn, "base", nil, func(r string) {
		for _, d := range []string{"etc", "dev", "w/opq", "w/keep", "bin"} {
			must(t, os.MkdirAll(filepath.Join(r, d), 0o755))
		}
		write(t, r, "w/opq/old1", "")
		write(t, r, "w/opq/old2", "")
		must(t, os.Symlink("busybox", filepath.Join(r, "bin/sed")))
	})
	commit(t, sn, "step", []string{"base"}, func(r string) {
		// touch /etc and /dev without changing them (as mount point setup does)
		fi, err := os.Stat(filepath.Join(r, "etc"))
		must(t, err)
		write(t, r, "etc/tmp-mountpoint", "")
		must(t, os.Remove(filepath.Join(r, "etc", "tmp-mountpoint")))
		must(t, os.Chtimes(filepath.Join(r, "etc"), fi.ModTime(), fi.ModTime()))
		must(t, os.Chmod(filepath.Join(r, "dev"), 0o755))
		// delete and recreate a dir (opaque in overlay)
		must(t, os.RemoveAll(filepath.Join(r, "w/opq")))
		write(t, r, "w/opq/new", "n")
		// a dir where the base had a symlink
		must(t, os.Remove(filepath.Join(r, "bin/sed")))
		must(t, os.Mkdir(filepath.Join(r, "bin/sed"), 0o755))
	})
	expectTree(t, "step", sn.Path("step"), map[string]string{"bin": "d", "bin/sed": "d", "w": "d", "w/opq": "d",
		"w/opq/new": "f:n", "w/opq/old1": "w", "w/opq/old2": "w"})
	if b, err := xattr(filepath.Join(sn.Path("step"), "w/opq")); err == nil && b == "y" {
		t.Error("w/opq kept its opaque marker")
	}
}

func xattr(p string) (string, error) {
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(p, "trusted.overlay.opaque", buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}
