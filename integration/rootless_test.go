package integration

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rootlessUser is the ordinary user the rootless tests run kiln as
// ($KILN_ROOTLESS_USER, default "builder"; CI creates it with subordinate
// ids). The tests skip when it does not exist.
func rootlessUser(t *testing.T) *user.User {
	t.Helper()
	needSetup(t)
	name := os.Getenv("KILN_ROOTLESS_USER")
	if name == "" {
		name = "builder"
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Skipf("no user %s to run rootless kiln as (set KILN_ROOTLESS_USER): %v", name, err)
	}
	if _, err := exec.LookPath("runuser"); err != nil {
		t.Skip("runuser (util-linux) is missing")
	}
	return u
}

// asUser runs kiln as u with its own home and store, and returns stdout,
// stderr and the exit code.
func asUser(t *testing.T, u *user.User, home string, args ...string) (string, string, int) {
	t.Helper()
	cmd := userCommand(t, u, home, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// userCommand is kiln run by u (runuser sets HOME to the user's own: env
// sets it back to home).
func userCommand(t *testing.T, u *user.User, home string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", u.Username, "--", "env", "HOME=" + home, "KILN_ROOTLESS_QUIET=1",
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", publicKiln(t)}, args...)...)
	return cmd
}

// publicKiln is the test's kiln binary where any user can run it.
func publicKiln(t *testing.T) string {
	t.Helper()
	bin := kilnBinary(t)
	os.Chmod(filepath.Dir(bin), 0o755)
	os.Chmod(bin, 0o755)
	return bin
}

// userDir makes a directory u owns.
func userDir(t *testing.T, u *user.User) string {
	t.Helper()
	d := t.TempDir()
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	os.Chmod(filepath.Dir(d), 0o755)
	os.Chown(d, uid, gid)
	return d
}

const rootlessDockerfile = `FROM busybox
RUN echo hello > /hello && chown 1000:1000 /hello && rm /bin/cat && mkdir -p /d/e && touch /d/e/x && ln /hello /hardlink
COPY --chown=2000:3000 f /f
RUN rm -rf /d && mkdir /d && chmod 4755 /f && echo y > /d/new && grep -E '^(Seccomp|CapEff):' /proc/self/status > /status
WORKDIR /w
`

// TestRootless: an ordinary user's kiln (in a user namespace of its own)
// builds what root builds — RUN with chown and setuid bits, COPY --chown,
// whiteouts, opaque directories, hard links — into the same image ID,
// under the same sandbox; the cache works; a local export gives the user
// its own files; the store is $HOME/.local/share/kiln.
func TestRootless(t *testing.T) {
	u := rootlessUser(t)
	dir := project(t, map[string]string{"Dockerfile": rootlessDockerfile, "f": "data\n"})
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	home := userDir(t, u)
	bb := saveBusybox(t)
	os.Chmod(bb, 0o644)
	os.Chmod(filepath.Dir(bb), 0o755)
	if _, e, code := asUser(t, u, home, "load", "-i", bb); code != 0 {
		t.Fatalf("rootless load: %s", e)
	}
	args := []string{"build", "--progress=rawjson", "--build-arg", "SOURCE_DATE_EPOCH=1700000000", "-t", "rootless:1",
		"-o", "type=image,rewrite-timestamp=true", "-o", "type=local,dest=" + filepath.Join(home, "out"), dir}
	_, e, code := asUser(t, u, home, args...)
	if code != 0 {
		t.Fatalf("rootless build: %s", e)
	}
	if _, err := os.Stat(filepath.Join(home, ".local/share/kiln/index.json")); err != nil {
		t.Errorf("the rootless store is not in ~/.local/share/kiln: %v", err)
	}
	r := mustKiln(t, "build", "-q", "--build-arg", "SOURCE_DATE_EPOCH=1700000000", "-t", "rootful:1", "-o", "type=image,rewrite-timestamp=true", dir)
	out, _, _ := asUser(t, u, home, "images")
	id := regexp.MustCompile(`rootless\s+1\s+([0-9a-f]{12})`).FindStringSubmatch(out)
	if id == nil || !strings.HasPrefix(strings.TrimPrefix(strings.TrimSpace(r.stdout), "sha256:"), id[1]) {
		t.Errorf("rootless image %v, root image %s: want the same ID\n%s", id, r.stdout, out)
	}
	status, _ := os.ReadFile(filepath.Join(home, "out", "status"))
	if !strings.Contains(string(status), "Seccomp:\t2") || !strings.Contains(string(status), "CapEff:\t00000000a80425fb") {
		t.Errorf("rootless RUN sandbox: %q", status)
	}
	uid, _ := strconv.Atoi(u.Uid)
	for _, p := range []string{"hello", "f", "d/new"} {
		fi, err := os.Lstat(filepath.Join(home, "out", p))
		if err != nil || int(fi.Sys().(*syscall.Stat_t).Uid) != uid {
			t.Errorf("local export %s: %v, want owned by %s", p, err, u.Username)
		}
	}
	_, e, _ = asUser(t, u, home, args...)
	if ran := ranSteps(e); len(ran) != 0 {
		t.Errorf("rootless rebuild ran %v", ran)
	}
}

// TestRootlessInterrupt: Ctrl-C and kill -9 of a rootless build leave no
// process and no mount behind (they live in its namespaces), and the next
// build on the store works.
func TestRootlessInterrupt(t *testing.T) {
	u := rootlessUser(t)
	home := userDir(t, u)
	bb := saveBusybox(t)
	os.Chmod(bb, 0o644)
	os.Chmod(filepath.Dir(bb), 0o755)
	asUser(t, u, home, "load", "-i", bb)
	dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo started; sleep 300\n"})
	os.Chmod(dir, 0o755)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		cmd := userCommand(t, u, home, "build", "--progress=plain", dir)
		stderr, _ := cmd.StderrPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		for sc.Scan() && !strings.Contains(sc.Text(), "started") {
		}
		kiln := kilnProcess(t, cmd.Process.Pid) // runuser → env, exec'd as kiln
		syscall.Kill(kiln, sig)
		go func() {
			for sc.Scan() {
			}
		}()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			ee, _ := err.(*exec.ExitError)
			if sig == syscall.SIGINT && (ee == nil || ee.ExitCode() != 130) {
				t.Errorf("rootless Ctrl-C: %v, want exit 130", err)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("rootless build did not end on %v", sig)
		}
		time.Sleep(500 * time.Millisecond)
		if left := userProcesses(t, u); len(left) > 0 {
			t.Errorf("after %v: processes of %s left: %v", sig, u.Username, left)
		}
	}
	ok := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo fine > /f\n"})
	os.Chmod(ok, 0o755)
	if _, e, code := asUser(t, u, home, "build", ok); code != 0 {
		t.Errorf("build after the interruptions: %s", e)
	}
	ents, _ := os.ReadDir(filepath.Join(home, ".local/share/kiln/tmp"))
	if len(ents) != 0 {
		t.Errorf("temp state left in the store: %d entries", len(ents))
	}
}

// kilnProcess is the kiln process runuser started (its child).
func kilnProcess(t *testing.T, runuser int) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(runuser) + "/task/" + strconv.Itoa(runuser) + "/children")
		if f := strings.Fields(string(b)); len(f) > 0 {
			pid, _ := strconv.Atoi(f[0])
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no kiln process under runuser")
	return 0
}

// userProcesses lists the live processes of a rootless build u runs
// (zombies waiting for init to reap them are dead already).
func userProcesses(t *testing.T, u *user.User) []string {
	t.Helper()
	out, _ := exec.Command("ps", "-u", u.Uid, "-o", "pid=,stat=,comm=").Output()
	var procs []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(l)
		// only what a rootless build starts: kiln itself (exe, after its
		// re-exec), slirp4netns, the RUN's processes
		if len(f) == 3 && !strings.HasPrefix(f[1], "Z") && (f[2] == "kiln" || f[2] == "exe" || f[2] == "slirp4netns" || f[2] == "sleep") {
			procs = append(procs, f[0]+" "+f[2])
		}
	}
	return procs
}

// TestRootlessSingleID: a user without subordinate ids gets a one-id
// mapping: builds that only need root's files work, and a step that needs
// another owner fails saying why.
func TestRootlessSingleID(t *testing.T) {
	needSetup(t)
	name := os.Getenv("KILN_ROOTLESS_NOSUB_USER")
	if name == "" {
		name = "nosub"
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Skipf("no user %s without subordinate ids (set KILN_ROOTLESS_NOSUB_USER): %v", name, err)
	}
	if b, _ := os.ReadFile("/etc/subuid"); regexp.MustCompile(`(?m)^(` + name + `|` + u.Uid + `):`).Match(b) {
		t.Skipf("user %s has subordinate ids", name)
	}
	home := userDir(t, u)
	bb := saveBusybox(t)
	os.Chmod(bb, 0o644)
	os.Chmod(filepath.Dir(bb), 0o755)
	asUser(t, u, home, "load", "-i", bb)
	ok := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo fine > /f && id -u > /uid\n"})
	os.Chmod(ok, 0o755)
	if _, e, code := asUser(t, u, home, "build", ok); code != 0 {
		t.Errorf("one-id build: %s", e)
	}
	bad := project(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY --chown=1000:1000 f /f\n", "f": "x"})
	os.Chmod(bad, 0o755)
	if _, e, code := asUser(t, u, home, "build", bad); code != 1 || !strings.Contains(e, "is not mapped in kiln's user namespace") {
		t.Errorf("COPY --chown without subordinate ids: %d %s", code, e)
	}
}

// TestNoProcessSandbox: rootless kiln where /proc is masked, as in an
// unprivileged Kubernetes pod (here: /dev/null bound over /proc/kcore in a
// mount namespace, which locks the mount for kiln's user namespace). A RUN
// cannot mount a /proc of its own there: the error says what to do, and
// --no-process-sandbox runs it in kiln's pid namespace with kiln's /proc,
// still under the seccomp profile.
func TestNoProcessSandbox(t *testing.T) {
	u := rootlessUser(t)
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) is missing")
	}
	dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo pid=$$ > /pid && grep Seccomp: /proc/self/status > /status\n"})
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	home := userDir(t, u)
	bb := saveBusybox(t)
	os.Chmod(bb, 0o644)
	os.Chmod(filepath.Dir(bb), 0o755)
	masked := func(args ...string) (string, int) {
		t.Helper()
		user := userCommand(t, u, home, args...)
		script := `for p in /proc/kcore /proc/timer_list /proc/keys; do [ -f $p ] && mount --bind /dev/null $p && exec "$@"; done; exit 99`
		cmd := exec.Command("unshare", append([]string{"-m", "--propagation", "private", "sh", "-c", script, "sh"}, user.Args...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	if out, code := masked("load", "-i", bb); code != 0 {
		t.Fatalf("load: %s", out)
	}
	out, code := masked("build", "--progress=plain", dir)
	if code == 0 {
		t.Skip("this kernel lets a user namespace mount /proc over a masked one")
	}
	if !strings.Contains(out, "--no-process-sandbox") {
		t.Errorf("the error does not say what to do:\n%s", out)
	}
	out, code = masked("build", "--progress=plain", "--no-process-sandbox", "-o", filepath.Join(home, "out"), dir)
	if code != 0 {
		t.Fatalf("--no-process-sandbox: %s", out)
	}
	pid, _ := os.ReadFile(filepath.Join(home, "out", "pid"))
	status, _ := os.ReadFile(filepath.Join(home, "out", "status"))
	if strings.TrimSpace(string(pid)) == "pid=1" || !strings.Contains(string(status), "Seccomp:\t2") {
		t.Errorf("RUN saw %q, %q: want another pid than 1 (no pid namespace) and the seccomp filter", pid, status)
	}
}
