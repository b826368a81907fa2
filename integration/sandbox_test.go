package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSandboxFlags: --network, --allow entitlements, --add-host,
// --shm-size and --ulimit reach RUN steps as buildx's do.
func TestSandboxFlags(t *testing.T) {
	needSetup(t)
	if _, err := exec.LookPath("slirp4netns"); err != nil {
		t.Skip("slirp4netns is not installed (the default RUN network needs it)")
	}
	dir := project(t, map[string]string{"Dockerfile": `FROM busybox
RUN cat /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ' > /default-links
RUN --network=none cat /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\n' ' ' > /none-links
RUN grep -E '^(Seccomp|CapEff):' /proc/self/status > /status
RUN grep myhost /etc/hosts > /hosts
RUN grep /dev/shm /proc/mounts > /shm
RUN ulimit -n > /nofile
`})
	out := filepath.Join(t.TempDir(), "out")
	mustKiln(t, "build", "--add-host", "myhost:10.1.2.3", "--shm-size", "128m", "--ulimit", "nofile=1000:2000", "-o", out, dir)
	read := func(p string) string { b, _ := os.ReadFile(filepath.Join(out, p)); return string(b) }
	if got := read("default-links"); !strings.Contains(got, "eth0") || !strings.Contains(got, "lo") {
		t.Errorf("default network: interfaces %q, want lo and eth0 (slirp4netns)", got)
	}
	if got := read("none-links"); strings.Contains(got, "eth0") || !strings.Contains(got, "lo") {
		t.Errorf("--network=none: interfaces %q, want only lo", got)
	}
	if got := read("status"); !strings.Contains(got, "Seccomp:\t2") || !strings.Contains(got, "CapEff:\t00000000a80425fb") {
		t.Errorf("sandbox status %q: want seccomp filter mode 2 and docker's capabilities", got)
	}
	if got := read("hosts"); got != "10.1.2.3\tmyhost\n" {
		t.Errorf("--add-host: %q", got)
	}
	if got := read("shm"); !strings.Contains(got, "size=131072k") {
		t.Errorf("--shm-size: %q", got)
	}
	if got := read("nofile"); got != "1000\n" {
		t.Errorf("--ulimit: %q", got)
	}

	host := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN --network=host cat /proc/net/dev > /dev/null\n"})
	if r := kiln(t, "build", host); r.code != 1 || !strings.Contains(r.stderr, "network.host is not allowed") || !strings.Contains(r.stderr, "Dockerfile:2") {
		t.Errorf("RUN --network=host without --allow: %d %s", r.code, r.stderr)
	}
	mustKiln(t, "build", "--allow", "network.host", host)
	if r := kiln(t, "build", "--network", "host", dir); r.code != 1 || !strings.Contains(r.stderr, "network.host is not allowed") {
		t.Errorf("--network=host without --allow: %d %s", r.code, r.stderr)
	}
	insecure := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN --security=insecure grep -E '^(Seccomp|CapEff):' /proc/self/status > /status\n"})
	if r := kiln(t, "build", insecure); r.code != 1 || !strings.Contains(r.stderr, "security.insecure is not allowed") {
		t.Errorf("--security=insecure without --allow: %d %s", r.code, r.stderr)
	}
	out2 := filepath.Join(t.TempDir(), "out")
	mustKiln(t, "build", "--allow", "security.insecure", "-o", out2, insecure)
	if b, _ := os.ReadFile(filepath.Join(out2, "status")); !strings.Contains(string(b), "Seccomp:\t0") || strings.Contains(string(b), "a80425fb") {
		t.Errorf("--security=insecure: %q", b)
	}
	if r := kiln(t, "build", "--network", "bridge", dir); r.code != 1 || !strings.Contains(r.stderr, "--network=bridge") {
		t.Errorf("unknown --network: %d %s", r.code, r.stderr)
	}
}
