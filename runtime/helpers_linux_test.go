package runtime

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const busybox = "/bin/busybox"

// TestMain makes the test binary usable as libcontainer's container init.
func TestMain(m *testing.M) {
	Init()
	hostMountNS, _ = os.Readlink("/proc/self/ns/mnt")
	os.Exit(m.Run())
}

// hostMountNS is the test process's mount namespace at start.
var hostMountNS string

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for namespaces, mounts and cgroups")
	}
	if _, err := os.Stat("/proc/self/ns/pid"); err != nil {
		t.Skip("no pid namespace support:", err)
	}
}

// testRootfs returns a rootfs dir with a static busybox and its applets in
// bin, /etc/passwd with root and app (1000), /etc/group with app (1000) and
// extra (2000, member app), and /tmp. It has no /proc, /dev or /sys, like
// an image built FROM scratch.
func testRootfs(t testing.TB) string {
	t.Helper()
	requireRoot(t)
	data, err := os.ReadFile(busybox)
	if err != nil {
		t.Skipf("needs a static busybox at %s (Debian: apt-get install busybox-static): %v", busybox, err)
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Skipf("%s --list: %v", busybox, err)
	}
	root := t.TempDir()
	mkdir(t, root, "bin", 0o755)
	mkdir(t, root, "etc", 0o755)
	mkdir(t, root, "tmp", 0o1777)
	writeFile(t, filepath.Join(root, "bin/busybox"), data, 0o755)
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "etc/passwd"),
		[]byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"), 0o644)
	writeFile(t, filepath.Join(root, "etc/group"),
		[]byte("root:x:0:\napp:x:1000:\nextra:x:2000:app\n"), 0o644)
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func mkdir(t testing.TB, root, name string, mode fs.FileMode) {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.Mkdir(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, name string, data []byte, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(name, data, mode); err != nil {
		t.Fatal(err)
	}
}

// tree lists every path under root with its type, to compare a rootfs
// before and after a run.
func tree(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, rel+" "+d.Type().String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// testExecutor is one Executor under test with its state dir.
type testExecutor struct {
	name     string
	exec     Executor
	stateDir string
}

// executors returns the executors to test: libcontainer always, runc when
// it is on PATH.
func executors(t testing.TB, opts ...Option) []testExecutor {
	t.Helper()
	requireRoot(t)
	var out []testExecutor
	dir := t.TempDir()
	lc, err := NewLibcontainer(filepath.Join(dir, "libcontainer"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, testExecutor{"libcontainer", lc, filepath.Join(dir, "libcontainer")})
	if _, err := exec.LookPath("runc"); err != nil {
		t.Log("runc not on PATH: skipping the OCIRuntime executor (Debian: apt-get install runc)")
		return out
	}
	oci, err := NewOCIRuntime("runc", filepath.Join(dir, "runc"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, testExecutor{"runc", oci, filepath.Join(dir, "runc")})
}

// result is what one run produced.
type result struct {
	code           int
	stdout, stderr string
}

// run runs script with /bin/sh -c in a container of rootfs, as root in /
// with the host's network unless mod changes the Spec.
func run(ctx context.Context, t testing.TB, e testExecutor, id, rootfs, script string, mod ...func(*Spec)) (result, error) {
	t.Helper()
	return runArgs(ctx, t, e, id, rootfs, []string{"/bin/sh", "-c", script}, mod...)
}

// runArgs runs args in a container of rootfs, as root in / with the host's
// network unless mod changes the Spec.
func runArgs(ctx context.Context, t testing.TB, e testExecutor, id, rootfs string, args []string, mod ...func(*Spec)) (result, error) {
	t.Helper()
	s := Spec{
		Rootfs: rootfs,
		Process: Process{
			Args: args,
			Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			Cwd:  "/",
		},
		Network: NetworkHost, // NetworkDefault needs slirp4netns: its tests ask for it
	}
	for _, m := range mod {
		m(&s)
	}
	spec, err := NewSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code, err := e.exec.Run(ctx, id, spec, Stdio{Stdout: &stdout, Stderr: &stderr})
	return result{code, stdout.String(), stderr.String()}, err
}

// checkClean fails if anything of container id is left: state, cgroups or
// mounts under rootfs.
func checkClean(t testing.TB, e testExecutor, id, rootfs string) {
	t.Helper()
	_ = filepath.WalkDir(e.stateDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p == filepath.Join(e.stateDir, "etc") {
			return fs.SkipDir // the /etc files containers share
		}
		if err == nil && p != e.stateDir && d.Name() != "oci-root" {
			t.Errorf("%s: left in state dir: %s", e.name, p)
		}
		return nil
	})
	for _, c := range []string{"pids", "memory", "cpu", "devices", "freezer"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", c, "kiln", id)); err == nil {
			t.Errorf("%s: cgroup %s/kiln/%s left behind", e.name, c, id)
		}
	}
	if ns, _ := os.Readlink("/proc/self/ns/mnt"); ns != hostMountNS {
		t.Errorf("%s: the main thread moved from mount namespace %s to %s", e.name, hostMountNS, ns)
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mountinfo), "\n") {
		if strings.Contains(line, rootfs) {
			t.Errorf("%s: mount left under %s: %s", e.name, rootfs, line)
		}
	}
}
