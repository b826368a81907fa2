package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// The expected values below are what a RUN step sees under buildkitd
// v0.34.2 (OCI worker, Debian 12's runc 1.1.5) on the same machine.

// defaultCapMask is DefaultCapabilities as /proc/self/status shows them.
const defaultCapMask = "00000000a80425fb"

// TestRunSandbox checks what a process sees of its sandbox: capabilities,
// no_new_privs, seccomp, masked and read-only paths, devices and the /etc
// files, as root and as another user.
func TestRunSandbox(t *testing.T) {
	status := "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters):' /proc/self/status | tr -d '\\t'"
	asApp := func(s *Spec) { s.Process.UID, s.Process.GID = 1000, 1000 }
	tests := []struct {
		name, script string
		mod          func(*Spec)
		want         string // whole stdout
	}{
		{
			name: "status-root", script: status,
			want: "CapInh:0000000000000000\nCapPrm:" + defaultCapMask + "\nCapEff:" + defaultCapMask + "\nCapBnd:" + defaultCapMask +
				"\nCapAmb:0000000000000000\nNoNewPrivs:0\nSeccomp:2\nSeccomp_filters:1\n",
		},
		{
			name: "status-user", script: status, mod: asApp,
			want: "CapInh:0000000000000000\nCapPrm:0000000000000000\nCapEff:0000000000000000\nCapBnd:" + defaultCapMask +
				"\nCapAmb:0000000000000000\nNoNewPrivs:0\nSeccomp:2\nSeccomp_filters:1\n",
		},
		{
			// Refused by the seccomp profile only: no capability is needed
			// to create a user namespace.
			name: "unshare-user", script: "unshare -U true 2>&1; echo $?",
			want: "unshare: unshare(0x10000000): Operation not permitted\n1\n",
		},
		{name: "unshare-user-as-user", script: "unshare -U true 2>/dev/null; echo $?", mod: asApp, want: "1\n"},
		{name: "mount", script: "mkdir /tmp/m && mount -t tmpfs none /tmp/m 2>/dev/null; echo $?", want: "1\n"},
		{
			name:   "masked",
			script: "wc -c < /proc/keys; wc -c < /proc/timer_list; ls -A /sys/firmware /proc/acpi 2>&1 | grep -v : | grep -c .",
			want:   "0\n0\n0\n",
		},
		{
			name:   "read-only",
			script: "(echo x > /proc/sys/kernel/domainname) 2>&1; touch /sys/kernel/x 2>/dev/null || echo sys-ro; (echo x > /proc/sysrq-trigger) 2>/dev/null || echo sysrq-ro",
			want:   "/bin/sh: can't create /proc/sys/kernel/domainname: Read-only file system\nsys-ro\nsysrq-ro\n",
		},
		{
			name:   "devices",
			script: "cat /sys/fs/cgroup/devices/devices.list",
			want:   "b *:* m\nc *:* m\nc 1:3 rwm\nc 1:5 rwm\nc 1:7 rwm\nc 1:8 rwm\nc 1:9 rwm\nc 5:0 rwm\nc 5:2 rwm\nc 10:200 rwm\nc 136:* rwm\n",
		},
		{
			// BuildKit's mount order, and no /etc/hostname mount.
			name:   "etc-mounts",
			script: "awk '{print $5}' /proc/self/mountinfo | grep -E '^/(etc/|sys$|sys/fs/cgroup$)'",
			want:   "/sys\n/etc/resolv.conf\n/etc/hosts\n/sys/fs/cgroup\n",
		},
		{
			name:   "etc-hostname",
			script: "cat /etc/hostname 2>/dev/null || echo none; hostname",
			want:   "none\n" + DefaultHostname + "\n",
		},
	}
	_, devErr := os.Stat("/sys/fs/cgroup/devices/devices.list")
	for _, e := range executors(t) {
		for i, tt := range tests {
			t.Run(e.name+"/"+tt.name, func(t *testing.T) {
				if tt.name == "devices" && devErr != nil {
					t.Skip("no cgroup v1 devices controller:", devErr)
				}
				rootfs := testRootfs(t)
				mods := []func(*Spec){func(s *Spec) { s.Network = NetworkNone }}
				if tt.mod != nil {
					mods = append(mods, tt.mod)
				}
				id := fmt.Sprintf("sandbox-%s-%d", e.name, i)
				res, err := run(context.Background(), t, e, id, rootfs, tt.script, mods...)
				if err != nil {
					t.Fatal(err)
				}
				if res.stdout != tt.want {
					t.Errorf("stdout:\n%s\nwant:\n%s\n(stderr %q, exit %d)", res.stdout, tt.want, res.stderr, res.code)
				}
				checkClean(t, e, id, rootfs)
			})
		}
	}
}

// TestRunSeccompSyscalls runs testdata/sysprobe, which makes system calls
// the profile refuses and a few it allows, and compares the errors with
// those buildkitd's RUN gets.
func TestRunSeccompSyscalls(t *testing.T) {
	rootfs := testRootfs(t)
	buildSysprobe(t, filepath.Join(rootfs, "sysprobe"))
	want := map[string]string{
		"unshare-user":                  "EPERM",
		"unshare-mount":                 "EPERM",
		"mount":                         "EPERM",
		"umount2":                       "EPERM",
		"keyctl":                        "EPERM",
		"add_key":                       "EPERM",
		"setns":                         "EPERM",
		"sethostname":                   "EPERM",
		"bpf":                           "EPERM",
		"perf_event_open":               "EPERM",
		"userfaultfd":                   "EPERM",
		"io_uring_setup":                "EPERM",
		"clone3":                        "ENOSYS", // the profile's errnoRet: glibc falls back to clone
		"personality-addr-no-randomize": "EPERM",
		"personality-query":             "ok",
		"acct":                          "EPERM",
		"syslog":                        "EPERM",
		"fsopen":                        "EPERM",
		"open_tree":                     "EPERM",
		"chroot":                        "ENOENT", // allowed (CAP_SYS_CHROOT)
		"unknown-500":                   "ENOSYS",
		"socket-inet":                   "ok",
		// cachestat and fchmodat2 depend on the kernel and libseccomp:
		// logged, not checked.
	}
	for _, e := range executors(t) {
		for _, user := range []uint32{0, 1000} {
			t.Run(fmt.Sprintf("%s/uid%d", e.name, user), func(t *testing.T) {
				id := fmt.Sprintf("sysprobe-%s-%d", e.name, user)
				res, err := runArgs(context.Background(), t, e, id, rootfs, []string{"/sysprobe"}, func(s *Spec) {
					s.Network = NetworkNone
					s.Process.UID, s.Process.GID = user, user
				})
				if err != nil || res.code != 0 {
					t.Fatalf("sysprobe: %d %v %s", res.code, err, res.stderr)
				}
				got := map[string]string{}
				for _, line := range strings.Fields(res.stdout) {
					k, v, _ := strings.Cut(line, "=")
					got[k] = v
				}
				for k, v := range want {
					if got[k] != v {
						t.Errorf("%s: %s, want %s", k, got[k], v)
					}
				}
				t.Logf("cachestat=%s fchmodat2=%s", got["cachestat"], got["fchmodat2"])
				checkClean(t, e, id, rootfs)
			})
		}
	}
}

// buildSysprobe builds testdata/sysprobe, statically, at dst.
func buildSysprobe(t *testing.T, dst string) {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(goruntime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(gobin, "build", "-o", dst, "./testdata/sysprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("cannot build testdata/sysprobe: %v\n%s", err, out)
	}
}
