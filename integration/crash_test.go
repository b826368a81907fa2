package integration

import (
	"math/rand/v2"
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

// TestKill9: kill -9 at 20 random moments of builds with a long RUN leaves
// nothing behind once kiln starts again (no mounts under the store, no temp
// dirs, no libcontainer state dirs, no empty kiln cgroups), and the store
// stays usable: the next build works and gives the right result, and
// prune cleans up.
func TestKill9(t *testing.T) {
	needSetup(t)
	if testing.Short() {
		t.Skip("builds the kiln binary; skipped with -short")
	}
	bin := kilnBinary(t)
	// the store inside the binary's directory: runtime then keeps its
	// container state dirs in $TMPDIR/kiln-run-* (see runtime's sealBase)
	root, err := os.MkdirTemp(filepath.Dir(bin), "store-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	tmpdir := t.TempDir() // the killed builds' $TMPDIR
	if r := kilnIn(t, root, nil, "import", bbRootfs(t), "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	dir := project(t, map[string]string{
		"Dockerfile": "FROM busybox\nCOPY a /a\nRUN cp /a /b && echo x >> /b\nWORKDIR /w\n" +
			"RUN seq 1 2000 | while read i; do echo $i > f$i; done\nCOPY a /w/a2\nARG SLEEP=0\nRUN sleep $SLEEP\n",
		"a": "content\n",
	})
	seed := time.Now().UnixNano()
	rnd := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("kill moments seeded with %d", seed)
	run := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"--root", root}, args...)...)
		cmd.Env = append(os.Environ(), "TMPDIR="+tmpdir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		return cmd
	}
	for i := 0; i < 20; i++ {
		cmd := run("build", "--build-arg", "SLEEP=30", "-t", "k:1", dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rnd.IntN(2500)) * time.Millisecond)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}
	states, _ := filepath.Glob(filepath.Join(tmpdir, "kiln-run-*"))
	t.Logf("after 20 kills: %d state dirs, %d empty kiln cgroups, %d store temp dirs",
		len(states), len(emptyKilnCgroups(t, 0)), len(dirNames(t, filepath.Join(root, "tmp"))))
	// past the sweep's grace: a fresh empty cgroup or a state dir without
	// state.json may belong to a container being set up
	time.Sleep(11 * time.Second)
	if out, err := run("images").CombinedOutput(); err != nil {
		t.Fatalf("kiln images: %v\n%s", err, out)
	}
	if m := mountsUnder(t, root); len(m) > 0 {
		t.Errorf("mounts left under the store: %v", m)
	}
	if left := dirNames(t, filepath.Join(root, "tmp")); len(left) > 0 {
		t.Errorf("store temp dirs left: %v", left)
	}
	if left, _ := filepath.Glob(filepath.Join(tmpdir, "kiln-run-*")); len(left) > 0 {
		t.Errorf("container state dirs left: %v", left)
	}
	if left := emptyKilnCgroups(t, 6*time.Second); len(left) > 0 {
		t.Errorf("%d empty kiln cgroups left, such as %s", len(left), left[0])
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

// emptyKilnCgroups lists the kiln container cgroups (any hierarchy, under
// the default parent /kiln) that hold no process and are older than age.
func emptyKilnCgroups(t *testing.T, age time.Duration) []string {
	t.Helper()
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/kiln/kiln-*")
	v2, _ := filepath.Glob("/sys/fs/cgroup/kiln/kiln-*")
	var out []string
	for _, d := range append(dirs, v2...) {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < age {
			continue
		}
		if procs, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil && len(strings.TrimSpace(string(procs))) == 0 {
			out = append(out, d)
		}
	}
	return out
}
