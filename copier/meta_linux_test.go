package copier

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ids returns the owner of root/p.
func ids(t *testing.T, root, p string) Owner {
	t.Helper()
	st := stat(t, root, p).Sys().(*syscall.Stat_t)
	return Owner{UID: int(st.Uid), GID: int(st.Gid)}
}

func TestCopyOwnership(t *testing.T) {
	requireRoot(t)
	chown := &Owner{UID: 1000, GID: 1001}
	tests := []struct {
		name       string
		keepOwner  bool
		chown      *Owner
		want       Owner // for copied entries
		wantNewDir Owner // for destination directories created by the copy
	}{
		{name: "context becomes root", want: Owner{0, 0}, wantNewDir: Owner{0, 0}},
		{name: "from stage keeps owner", keepOwner: true, want: Owner{1234, 5678}, wantNewDir: Owner{0, 0}},
		{name: "chown overrides", chown: chown, want: *chown, wantNewDir: *chown},
		{name: "chown overrides kept owner", keepOwner: true, chown: chown, want: *chown, wantNewDir: *chown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcRoot, destRoot := t.TempDir(), t.TempDir()
			build(t, srcRoot, tree{"d/f": "F", "d/sub/g": "G", "d/link": "->f"})
			for _, p := range []string{"d/f", "d/sub/g", "d/sub", "d/link"} {
				if err := os.Lchown(filepath.Join(srcRoot, p), 1234, 5678); err != nil {
					t.Fatal(err)
				}
			}
			src := Source{Root: srcRoot, KeepOwner: tt.keepOwner}
			err := Copy(context.Background(), src, []string{"d"}, destRoot, "/a/b/", Options{Chown: tt.chown})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"a/b/f", "a/b/sub", "a/b/sub/g", "a/b/link"} {
				if got := ids(t, destRoot, p); got != tt.want {
					t.Errorf("%s owner = %v, want %v", p, got, tt.want)
				}
			}
			for _, p := range []string{"a", "a/b"} {
				if got := ids(t, destRoot, p); got != tt.wantNewDir {
					t.Errorf("created dir %s owner = %v, want %v", p, got, tt.wantNewDir)
				}
			}
		})
	}
}

func TestCopyModes(t *testing.T) {
	dirMode := os.FileMode(0o700)
	chmod, _ := ParseChmod("640")
	setuid, _ := ParseChmod("4750")
	symbolic, _ := ParseChmod("u=rwX,g=rX,o=")
	tests := []struct {
		name     string
		chmod    *Chmod
		wantFile os.FileMode
		wantDir  os.FileMode
		wantNew  os.FileMode // destination dir created by the copy (of the source dir d)
	}{
		{name: "modes preserved", wantFile: 0o751 | os.ModeSetgid, wantDir: dirMode, wantNew: 0o755},
		// the dest dir the copy creates is 0755, or the --chmod mode
		// (checked against BuildKit by conformance/copy_chmod_dir)
		{name: "chmod files and dirs", chmod: chmod, wantFile: 0o640, wantDir: 0o640, wantNew: 0o640},
		{name: "chmod with setuid", chmod: setuid, wantFile: 0o750 | os.ModeSetuid, wantDir: 0o750 | os.ModeSetuid, wantNew: 0o750 | os.ModeSetuid},
		{name: "symbolic chmod", chmod: symbolic, wantFile: 0o750 | os.ModeSetgid, wantDir: 0o750, wantNew: 0o750},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcRoot, destRoot := t.TempDir(), t.TempDir()
			build(t, srcRoot, tree{"d/f": "F", "d/sub/g": "G"})
			if err := os.Chmod(filepath.Join(srcRoot, "d/f"), 0o751|os.ModeSetgid); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(filepath.Join(srcRoot, "d/sub"), dirMode); err != nil {
				t.Fatal(err)
			}
			err := Copy(context.Background(), Source{Root: srcRoot}, []string{"d"}, destRoot, "/new", Options{Chmod: tt.chmod})
			if err != nil {
				t.Fatal(err)
			}
			check := func(p string, want os.FileMode) {
				t.Helper()
				got := stat(t, destRoot, p).Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky)
				if got != want {
					t.Errorf("%s mode = %v, want %v", p, got, want)
				}
			}
			check("new/f", tt.wantFile)
			check("new/sub", tt.wantDir)
			check("new", tt.wantNew)
		})
	}
}

func TestCopyTimesLinksAndXattrs(t *testing.T) {
	srcRoot, destRoot := t.TempDir(), t.TempDir()
	build(t, srcRoot, tree{"d/f": "F", "d/sub/g": "G", "d/empty/": ""})
	if err := os.Link(filepath.Join(srcRoot, "d/f"), filepath.Join(srcRoot, "d/sub/hard")); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, p := range []string{"d/f", "d/sub", "d/empty"} {
		if err := os.Chtimes(filepath.Join(srcRoot, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	xattrErr := unix.Lsetxattr(filepath.Join(srcRoot, "d/f"), "user.kiln", []byte("v"), 0)
	if err := Copy(context.Background(), Source{Root: srcRoot, KeepOwner: true}, []string{"d"}, destRoot, "/out/", Options{}); err != nil {
		t.Fatal(err)
	}
	t.Run("mtime kept", func(t *testing.T) {
		for _, p := range []string{"out/f", "out/sub", "out/empty"} {
			if got := stat(t, destRoot, p).ModTime(); !got.Equal(old) {
				t.Errorf("%s mtime = %v, want %v", p, got, old)
			}
		}
	})
	t.Run("empty dir copied", func(t *testing.T) {
		if !stat(t, destRoot, "out/empty").IsDir() {
			t.Error("out/empty is not a directory")
		}
	})
	t.Run("hard link kept", func(t *testing.T) {
		a := stat(t, destRoot, "out/f").Sys().(*syscall.Stat_t)
		b := stat(t, destRoot, "out/sub/hard").Sys().(*syscall.Stat_t)
		if a.Ino != b.Ino {
			t.Errorf("out/f and out/sub/hard are different inodes")
		}
	})
	t.Run("xattr kept", func(t *testing.T) {
		if xattrErr != nil {
			t.Skipf("filesystem refuses user xattrs: %v", xattrErr)
		}
		buf := make([]byte, 16)
		n, err := unix.Lgetxattr(filepath.Join(destRoot, "out/f"), "user.kiln", buf)
		if err != nil || string(buf[:n]) != "v" {
			t.Errorf("user.kiln = %q, %v; want \"v\"", buf[:n], err)
		}
	})
}

func TestCopyCapabilityXattr(t *testing.T) {
	requireRoot(t)
	srcRoot, destRoot := t.TempDir(), t.TempDir()
	build(t, srcRoot, tree{"bin/ping": "P"})
	// vfs_cap_data revision 2, cap_net_raw (bit 13) permitted and effective.
	capv := []byte{0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if err := unix.Lsetxattr(filepath.Join(srcRoot, "bin/ping"), "security.capability", capv, 0); err != nil {
		t.Skipf("filesystem refuses security.capability: %v", err)
	}
	opts := Options{Chown: &Owner{UID: 0, GID: 0}}
	if err := Copy(context.Background(), Source{Root: srcRoot, KeepOwner: true}, []string{"bin/ping"}, destRoot, "/bin/", opts); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := unix.Lgetxattr(filepath.Join(destRoot, "bin/ping"), "security.capability", buf)
	if err != nil || string(buf[:n]) != string(capv) {
		t.Errorf("security.capability = %x, %v; want %x", buf[:n], err, capv)
	}
}

// TestCopySocket checks that a socket in the build context arrives as an
// empty regular file with its permission bits (BuildKit's context
// transfer drops the socket type), and that one from a stage stays a socket.
func TestCopySocket(t *testing.T) {
	for _, asFile := range []bool{true, false} {
		srcRoot, destRoot := t.TempDir(), t.TempDir()
		l, err := net.Listen("unix", filepath.Join(srcRoot, "socket.sock"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if err := os.Chmod(filepath.Join(srcRoot, "socket.sock"), 0o600); err != nil {
			t.Fatal(err)
		}
		src := Source{Root: srcRoot, SocketsAsFiles: asFile, KeepOwner: !asFile}
		if err := Copy(context.Background(), src, []string{"."}, destRoot, "/", Options{}); err != nil {
			t.Fatal(err)
		}
		fi := stat(t, destRoot, "socket.sock")
		switch {
		case asFile && (!fi.Mode().IsRegular() || fi.Size() != 0 || fi.Mode().Perm() != 0o600):
			t.Errorf("context socket copied as %v, size %d; want an empty 0600 file", fi.Mode(), fi.Size())
		case !asFile && fi.Mode()&os.ModeSocket == 0:
			t.Errorf("stage socket copied as %v, want a socket", fi.Mode())
		}
	}
}

// TestCopyUpperCopiesUp: with Options.Below, the directories a COPY writes
// in that only the view below has are made in the upper dir as overlayfs
// copies them up (owner, mode, xattrs and times; a directory that gains an
// entry gets a new mtime), and nothing else of below lands in it.
func TestCopyUpperCopiesUp(t *testing.T) {
	requireRoot(t)
	srcRoot, upper, below := t.TempDir(), t.TempDir(), t.TempDir()
	build(t, srcRoot, tree{"a.txt": "A"})
	build(t, below, tree{"usr/local/bin/old": "O", "usr/share/doc/": "", "etc/passwd": "root:x:0:0::/:/bin/sh\n"})
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for _, p := range []string{"usr/local/bin", "usr/local", "usr"} {
		full := filepath.Join(below, p)
		if err := os.Lchown(full, 7, 8); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, 0o750|os.ModeSetgid); err != nil {
			t.Fatal(err)
		}
		if err := unix.Lsetxattr(full, "user.kiln", []byte(p), 0); err != nil {
			t.Skipf("no user xattrs here: %v", err)
		}
		if err := os.Chtimes(full, old, old); err != nil {
			t.Fatal(err)
		}
	}
	before := time.Now().Add(-time.Second)
	if err := Copy(context.Background(), Source{Root: srcRoot}, []string{"a.txt"}, upper, "/usr/local/bin/", Options{Below: below}); err != nil {
		t.Fatal(err)
	}
	diffTrees(t, snapshot(t, upper), tree{"usr/": "", "usr/local/": "", "usr/local/bin/": "", "usr/local/bin/a.txt": "A"})
	for _, p := range []string{"usr", "usr/local", "usr/local/bin"} {
		fi := stat(t, upper, p)
		if got := ids(t, upper, p); got != (Owner{7, 8}) {
			t.Errorf("%s owner = %v, want 7:8", p, got)
		}
		if fi.Mode() != os.ModeDir|os.ModeSetgid|0o750 {
			t.Errorf("%s mode = %v, want dgrwxr-x---", p, fi.Mode())
		}
		buf := make([]byte, 64)
		if n, err := unix.Lgetxattr(filepath.Join(upper, p), "user.kiln", buf); err != nil || string(buf[:n]) != p {
			t.Errorf("%s xattr user.kiln = %q, %v; want %q", p, buf[:max(n, 0)], err, p)
		}
		if p == "usr/local/bin" {
			if fi.ModTime().Before(before) {
				t.Errorf("%s mtime = %v, want now: it gained a.txt", p, fi.ModTime())
			}
		} else if !fi.ModTime().Equal(old) {
			t.Errorf("%s mtime = %v, want %v as below", p, fi.ModTime(), old)
		}
	}
}
