package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// kilnBinary builds the kiln command once for tests that need a real
// process (to kill it).
func kilnBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kiln-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kiln")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/kiln").CombinedOutput()
		if err != nil {
			binErr = err
			binPath = string(out)
		}
	})
	if binErr != nil {
		t.Fatalf("building kiln: %v\n%s", binErr, binPath)
	}
	return binPath
}

// TestKill9: kill -9 at any moment of a build leaves the store usable: the
// next build works and gives the right result, and prune cleans up.
func TestKill9(t *testing.T) {
	needSetup(t)
	if testing.Short() {
		t.Skip("builds the kiln binary; skipped with -short")
	}
	bin := kilnBinary(t)
	root := t.TempDir()
	if r := kilnIn(t, root, nil, "import", bbRootfs(t), "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	dir := project(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY a /a\nRUN cp /a /b && echo x >> /b\nWORKDIR /w\nRUN seq 1 2000 | while read i; do echo $i > f$i; done\nCOPY a /w/a2\n",
		"a":          "content\n",
	})
	delays := []time.Duration{30, 80, 150, 250, 400, 600, 900, 1300}
	for _, d := range delays {
		cmd := exec.Command(bin, "--root", root, "build", "-t", "k:1", dir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(d * time.Millisecond)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	r := kilnIn(t, root, nil, "build", "-t", "k:1", "-o", "type=image", dir)
	if r.code != 0 {
		t.Fatalf("build after kill -9: %s", r.stderr)
	}
	out := filepath.Join(t.TempDir(), "out")
	if r := kilnIn(t, root, nil, "build", "-o", out, dir); r.code != 0 {
		t.Fatalf("second build: %s", r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "b")); string(b) != "content\nx\n" {
		t.Errorf("/b = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "w", "f2000")); string(b) != "2000\n" {
		t.Errorf("/w/f2000 = %q", b)
	}
	if r := kilnIn(t, root, nil, "prune"); r.code != 0 {
		t.Fatalf("prune: %s", r.stderr)
	}
	if left := dirNames(t, filepath.Join(root, "tmp")); len(left) > 0 {
		t.Errorf("temp dirs left after prune: %v", left)
	}
	if m := mountsUnder(t, root); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
	if !strings.Contains(kilnIn(t, root, nil, "images").stdout, "k ") {
		t.Error("image k:1 missing")
	}
}
