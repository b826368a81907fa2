package integration

import (
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// smallFS mounts a tmpfs of size bytes for the test.
func smallFS(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skip("mounting a tmpfs:", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

func randomFile(t *testing.T, p string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b) // incompressible
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDiskFull: a full disk during base extraction, COPY, RUN and export
// is a clear error naming the line or the output, leaves nothing tagged,
// and the store builds again once there is room.
func TestDiskFull(t *testing.T) {
	needSetup(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	root := filepath.Join(smallFS(t, "24m"), "store")
	if r := kilnIn(t, root, nil, "import", bbRootfs(t), "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// an image of 12 MB of random data, made elsewhere and loaded: its
	// extraction needs another 12 MB
	big := t.TempDir()
	if out, err := exec.Command("cp", "-a", bbRootfs(t)+"/.", big).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	randomFile(t, filepath.Join(big, "blob"), 12<<20)
	other := t.TempDir()
	if r := kilnIn(t, other, nil, "import", big, "big:1"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	saved := filepath.Join(t.TempDir(), "big.tar")
	if r := kilnIn(t, other, nil, "save", "-o", saved, "big:1"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := kilnIn(t, root, nil, "load", "-i", saved); r.code != 0 {
		t.Fatal(r.stderr)
	}
	ctx := project(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY huge /huge\n"})
	randomFile(t, filepath.Join(ctx, "huge"), 30<<20)
	cases := []struct {
		name, dockerfile string
		args             []string
		want             []string
	}{
		{"COPY", "FROM busybox\nCOPY huge /huge\n", nil, []string{"Dockerfile:2:", "no space left on device"}},
		{"RUN", "FROM busybox\nRUN dd if=/dev/zero of=/fill bs=1M count=40\n", nil, []string{"Dockerfile:2:", "No space left on device"}},
		{"extraction", "FROM big:1\nRUN true\n", nil, []string{"no space left on device"}},
		{"export", "FROM busybox\nCOPY Dockerfile /d\n", []string{"-o", "type=oci,dest=" + filepath.Join(smallFS(t, "512k"), "o.tar")},
			[]string{"dest=", "no space left on device"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(c.dockerfile), 0o644)
			r := kilnIn(t, root, nil, append(append([]string{"build", "--progress=plain", "-t", "full:1"}, c.args...), ctx)...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("error lacks %q:\n%s", w, lastLines(r.stderr, 8))
				}
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("stack trace:\n%s", r.stderr)
			}
			if strings.Contains(kilnIn(t, root, nil, "images").stdout, "full ") {
				t.Error("a failed build left the image tagged")
			}
		})
	}
	// room again: the same store builds
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM busybox\nRUN echo ok > /ok\n"), 0o644)
	os.Remove(filepath.Join(ctx, "huge"))
	if r := kilnIn(t, root, nil, "build", "-t", "full:1", ctx); r.code != 0 {
		t.Fatalf("build after the failures: %s", r.stderr)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
