package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	writeFile(t, resolv, []byte("nameserver 192.0.2.53\n"), 0o644)
	tests := []struct {
		name   string
		script string
		mod    func(*Spec)
		code   int
		stdout []string // substrings
		stderr string
	}{
		{name: "exit0", script: "exit 0"},
		{name: "exit3", script: "exit 3", code: 3},
		{name: "stdio", script: "echo out; echo err >&2", stdout: []string{"out\n"}, stderr: "err\n"},
		{
			name: "env-cwd", script: `echo "foo=$FOO"; pwd`,
			mod:    func(s *Spec) { s.Process.Env = append(s.Process.Env, "FOO=bar"); s.Process.Cwd = "/tmp" },
			stdout: []string{"foo=bar\n/tmp\n"},
		},
		{
			name: "user", script: "id",
			mod: func(s *Spec) {
				s.Process.UID, s.Process.GID, s.Process.AdditionalGids = 1000, 1000, []uint32{2000}
			},
			stdout: []string{"uid=1000(app) gid=1000(app)", "2000(extra)"},
		},
		{
			name: "hostname", script: "hostname; cat /etc/hosts; test -e /etc/hostname || echo no-etc-hostname",
			mod:    func(s *Spec) { s.Hostname = "kilnhost" },
			stdout: []string{"kilnhost\n127.0.0.1\tlocalhost kilnhost\n", "no-etc-hostname\n"},
		},
		{name: "default-hostname", script: "hostname", stdout: []string{DefaultHostname + "\n"}},
		{name: "pid-namespace", script: "echo pid=$$; cat /proc/1/cmdline | tr '\\0' ' '", stdout: []string{"pid=1\n/bin/sh -c "}},
		{name: "proc", script: "grep -c . /proc/self/status >/dev/null && ls /proc/self/fd >/dev/null && echo ok", stdout: []string{"ok\n"}},
		{name: "resolv-conf", script: "cat /etc/resolv.conf", stdout: []string{"nameserver 192.0.2.53\n"}},
		{name: "etc-read-only", script: "echo x >> /etc/hosts", code: 1},
		{name: "sys-read-only", script: "touch /sys/kernel/x", code: 1},
		{name: "devices", script: "ls /dev", stdout: []string{"full", "null", "ptmx", "pts", "random", "shm", "tty", "urandom", "zero"}},
		{name: "network-none", script: "ls /sys/class/net", mod: func(s *Spec) { s.Network = NetworkNone }, stdout: []string{"lo\n"}},
	}
	for _, e := range executors(t, WithResolvConf(resolv)) {
		for i, tt := range tests {
			t.Run(e.name+"/"+tt.name, func(t *testing.T) {
				rootfs := testRootfs(t)
				before := tree(t, rootfs)
				id := fmt.Sprintf("test-%s-%d", e.name, i)
				mods := []func(*Spec){}
				if tt.mod != nil {
					mods = append(mods, tt.mod)
				}
				res, err := run(context.Background(), t, e, id, rootfs, tt.script, mods...)
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if res.code != tt.code {
					t.Errorf("exit code %d, want %d (stdout %q, stderr %q)", res.code, tt.code, res.stdout, res.stderr)
				}
				for _, want := range tt.stdout {
					if !strings.Contains(res.stdout, want) {
						t.Errorf("stdout %q does not contain %q", res.stdout, want)
					}
				}
				if tt.stderr != "" && res.stderr != tt.stderr {
					t.Errorf("stderr %q, want %q", res.stderr, tt.stderr)
				}
				if after := tree(t, rootfs); !slices.Equal(before, after) {
					t.Errorf("rootfs changed by the run:\nbefore %q\nafter  %q", before, after)
				}
				checkClean(t, e, id, rootfs)
			})
		}
	}
}

func TestRunNetworkHost(t *testing.T) {
	host, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Skip("no /sys/class/net:", err)
	}
	var want []string
	for _, d := range host {
		want = append(want, d.Name())
	}
	for _, e := range executors(t) {
		t.Run(e.name, func(t *testing.T) {
			rootfs := testRootfs(t)
			res, err := run(context.Background(), t, e, "nethost", rootfs, "ls /sys/class/net", func(s *Spec) { s.Network = NetworkHost })
			if err != nil || res.code != 0 {
				t.Fatalf("Run: %d %v %s", res.code, err, res.stderr)
			}
			if got := strings.Fields(res.stdout); !slices.Equal(got, want) {
				t.Errorf("interfaces %q, want the host's %q", got, want)
			}
			checkClean(t, e, "nethost", rootfs)
		})
	}
}

func TestRunNotFound(t *testing.T) {
	requireRoot(t)
	for _, e := range executors(t) {
		t.Run(e.name, func(t *testing.T) {
			rootfs := t.TempDir() // scratch: no /bin/sh
			_, err := run(context.Background(), t, e, "notfound", rootfs, "true")
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			if want := "runtime: exec /bin/sh: no such file or directory"; err.Error() != want {
				t.Errorf("err = %q, want %q", err, want)
			}
			if entries, _ := os.ReadDir(rootfs); len(entries) != 0 {
				t.Errorf("scratch rootfs not empty after the run: %v", entries)
			}
			checkClean(t, e, "notfound", rootfs)
		})
	}
}

func TestRunCancel(t *testing.T) {
	for _, e := range executors(t) {
		t.Run(e.name, func(t *testing.T) {
			rootfs := testRootfs(t)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := run(ctx, t, e, "cancel", rootfs, "sleep 100")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Run returned %v after start, want within a couple of seconds", d)
			}
			checkClean(t, e, "cancel", rootfs)
		})
	}
}

// TestRunKilled kills the container's process from outside (a pid
// namespace's init cannot be SIGKILLed from inside, so `kill -9 $$` would
// be ignored) and expects -9 from the in-process runtime (it sees the
// wait status), 137 from runc's binary (its own exit status).
func TestRunKilled(t *testing.T) {
	for _, e := range executors(t) {
		t.Run(e.name, func(t *testing.T) {
			rootfs := testRootfs(t)
			procs := "/sys/fs/cgroup/pids/kiln/killed/cgroup.procs"
			done := make(chan struct{})
			go func() {
				defer close(done)
				for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					data, err := os.ReadFile(procs)
					for _, pid := range strings.Fields(string(data)) {
						// Wait for the process to be sleep, past the runtime's init.
						cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
						if err != nil || !strings.HasPrefix(string(cmdline), "sleep\x00") {
							continue
						}
						var n int
						fmt.Sscan(pid, &n)
						if p, err := os.FindProcess(n); err == nil && p.Signal(os.Kill) == nil {
							return
						}
					}
				}
			}()
			res, err := run(context.Background(), t, e, "killed", rootfs, "exec sleep 100")
			<-done
			if err != nil {
				t.Fatal(err)
			}
			want := -9
			if e.name == "runc" {
				want = 137
			}
			if res.code != want {
				t.Errorf("exit code %d, want %d", res.code, want)
			}
			checkClean(t, e, "killed", rootfs)
		})
	}
}

// TestRunKillSelf documents what `kill -9 $$` does: the shell is the pid
// namespace's init, which the kernel protects from signals sent inside the
// namespace, so it survives (as under docker build); a child shell that
// kills itself makes its parent exit 137.
func TestRunKillSelf(t *testing.T) {
	for _, e := range executors(t) {
		t.Run(e.name, func(t *testing.T) {
			rootfs := testRootfs(t)
			res, err := run(context.Background(), t, e, "killself", rootfs, "kill -9 $$; echo survived")
			if err != nil {
				t.Fatal(err)
			}
			if res.code != 0 || res.stdout != "survived\n" {
				t.Errorf("pid 1 kill -9 $$: exit code %d, stdout %q; want 0, survived", res.code, res.stdout)
			}
			res, err = run(context.Background(), t, e, "killself", rootfs, "sh -c 'kill -9 $$'; exit $?")
			if err != nil {
				t.Fatal(err)
			}
			if res.code != 137 {
				t.Errorf("child kill -9 $$: exit code %d, want 137", res.code)
			}
			checkClean(t, e, "killself", rootfs)
		})
	}
}

// BenchmarkRunTrue measures a whole Run of /bin/true per executor and
// network mode (go test -bench RunTrue -benchtime 20x).
func BenchmarkRunTrue(b *testing.B) {
	for _, e := range executors(b) {
		for _, n := range []Network{NetworkHost, NetworkNone, NetworkDefault} {
			b.Run(e.name+"/"+n.String(), func(b *testing.B) {
				rootfs := testRootfs(b)
				spec, err := NewSpec(Spec{Rootfs: rootfs, Process: Process{Args: []string{"/bin/true"}, Cwd: "/"}, Network: n})
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; b.Loop(); i++ {
					code, err := e.exec.Run(context.Background(), fmt.Sprintf("bench-%d", i), spec, Stdio{})
					if err != nil || code != 0 {
						b.Fatalf("Run: %d %v", code, err)
					}
				}
			})
		}
	}
}

// TestRunParentKilled kills (SIGKILL) a process running a container and
// expects the container's processes to die with it.
func TestRunParentKilled(t *testing.T) {
	if rootfs := os.Getenv("KILN_TEST_PARENT_KILLED"); rootfs != "" {
		parentKilledHelper(t, rootfs)
		return
	}
	rootfs := testRootfs(t)
	id := fmt.Sprintf("orphan-%d", os.Getpid())
	network := NetworkDefault // slirp4netns must die with the parent too
	if _, err := exec.LookPath("slirp4netns"); err != nil {
		t.Log("slirp4netns not on PATH: the container has no network")
		network = NetworkNone
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunParentKilled$")
	cmd.Env = append(os.Environ(), "KILN_TEST_PARENT_KILLED="+rootfs, "KILN_TEST_STATE="+t.TempDir(), "KILN_TEST_ID="+id,
		"KILN_TEST_NETWORK="+strconv.Itoa(int(network)))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	procs := filepath.Join("/sys/fs/cgroup/pids/kiln", id, "cgroup.procs")
	t.Cleanup(func() { removeCgroups(id) })
	sleeper := waitForSleep(t, procs)
	if sleeper == 0 {
		_ = cmd.Process.Kill()
		t.Fatal("the container's sleep did not start")
	}
	orphans := append([]int{sleeper}, slirpChildren(cmd.Process.Pid)...)
	if network == NetworkDefault && len(orphans) != 2 {
		t.Errorf("no slirp4netns child of the parent found")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range orphans {
		if !waitGone(pid, 3*time.Second) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("process %d (%s) outlived the killed parent", pid, comm(pid))
		}
	}
}

// waitGone waits up to d for process pid to be gone (or a zombie).
func waitGone(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return true
		}
	}
	return false
}

func comm(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(data))
}

// parentKilledHelper runs `sleep 100` in a container until it is killed.
func parentKilledHelper(t *testing.T, rootfs string) {
	e, err := NewLibcontainer(os.Getenv("KILN_TEST_STATE"))
	if err != nil {
		t.Fatal(err)
	}
	network, _ := strconv.Atoi(os.Getenv("KILN_TEST_NETWORK"))
	spec, err := NewSpec(Spec{Rootfs: rootfs, Process: Process{Args: []string{"/bin/sleep", "100"}, Cwd: "/"}, Network: Network(network)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Run(context.Background(), os.Getenv("KILN_TEST_ID"), spec, Stdio{})
	t.Fatalf("Run returned: %v", err)
}

// waitForSleep returns the pid of the sleep process in the cgroup whose
// cgroup.procs is procs, or 0 if none shows up within 5 seconds.
func waitForSleep(t *testing.T, procs string) int {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		data, _ := os.ReadFile(procs)
		for _, pid := range strings.Fields(string(data)) {
			if cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline"); strings.HasPrefix(string(cmdline), "/bin/sleep\x00") {
				var n int
				fmt.Sscan(pid, &n)
				return n
			}
		}
	}
	return 0
}

// removeCgroups removes container id's cgroups, which a killed parent
// leaves behind.
func removeCgroups(id string) {
	dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*/kiln", id))
	for _, d := range dirs {
		_ = os.Remove(d)
	}
}

// TestRunStateInBinaryDir keeps the state dir inside this binary's
// directory, where libcontainer cannot seal the binary with overlayfs: Run
// then keeps libcontainer's state elsewhere.
func TestRunStateInBinaryDir(t *testing.T) {
	rootfs := testRootfs(t)
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Skip(err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(exe), "state-")
	if err != nil {
		t.Skip("binary dir not writable:", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	l, err := NewLibcontainer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if base := l.(*Libcontainer).sealBase; base == "" || within(base, filepath.Dir(exe)) {
		t.Errorf("sealBase %q, want a dir outside %s", base, filepath.Dir(exe))
	}
	e := testExecutor{"libcontainer", l, dir}
	res, err := run(context.Background(), t, e, "inbindir", rootfs, "echo ok")
	if err != nil || res.code != 0 || res.stdout != "ok\n" {
		t.Fatalf("Run: %d %q %v", res.code, res.stdout, err)
	}
	checkClean(t, e, "inbindir", rootfs)
}

func TestWithin(t *testing.T) {
	for _, tt := range []struct {
		path, dir string
		want      bool
	}{
		{"/a/b", "/a", true},
		{"/a", "/a", true},
		{"/ab", "/a", false},
		{"/a", "/a/b", false},
		{"/x/../a/b", "/a", true},
	} {
		if got := within(tt.path, tt.dir); got != tt.want {
			t.Errorf("within(%q, %q) = %v, want %v", tt.path, tt.dir, got, tt.want)
		}
	}
}
