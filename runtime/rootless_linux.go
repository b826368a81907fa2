package runtime

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/userns"
	"golang.org/x/sys/unix"
)

// Rootless kiln: an ordinary user's kiln runs in a user namespace of its
// own, where the user is root and the user's subordinate ids
// (/etc/subuid, /etc/subgid) are the other ids, with a mount namespace of
// its own. Overlay mounts, chown to other ids and containers then work as
// for root; every mount lives in that namespace and goes with the process,
// even on kill -9.

// rootlessEnv marks the re-executed process: "map" while it waits for its
// id maps, "in" once inside.
const rootlessEnv = "KILN_ROOTLESS"

// Rootless reports whether this process runs in a user namespace (rootless
// kiln, or kiln in a rootless container).
func Rootless() bool { return userns.RunningInUserNS() }

// EnterRootless must come right after Init in main. Run as root it returns
// at once. Run by an ordinary user it starts this binary again in a new
// user and mount namespace and exits with its status; in that process it
// returns (the user is root there). Signals are passed on to it.
func EnterRootless() {
	switch os.Getenv(rootlessEnv) {
	case "in":
		// the exec as root in the namespace changed the credentials, which
		// clears the parent-death signal: set it again, so that kill -9 of
		// the kiln the user started takes this one (and its containers)
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
		if os.Getppid() == 1 {
			os.Exit(1) // the parent is gone already
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			fmt.Fprintf(os.Stderr, "kiln: rootless: making mounts private: %v\n", err)
			os.Exit(1)
		}
		return
	case "map":
		// wait for the parent to write the id maps, then start again: the
		// capabilities of root in the namespace come with an execve as root
		buf := make([]byte, 1)
		if _, err := os.NewFile(3, "sync").Read(buf); err != nil || buf[0] != 1 {
			os.Exit(1)
		}
		os.Setenv(rootlessEnv, "in")
		err := syscall.Exec("/proc/self/exe", os.Args, os.Environ())
		fmt.Fprintf(os.Stderr, "kiln: rootless: %v\n", err)
		os.Exit(1)
	}
	if os.Geteuid() == 0 {
		return
	}
	os.Exit(runRootless())
}

// runRootless starts the namespaced process and returns its exit code.
func runRootless() int {
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kiln: rootless: %v\n", err)
		return 1
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), rootlessEnv+"=map")
	cmd.ExtraFiles = []*os.File{r}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "kiln: rootless: starting a user namespace: %v (unprivileged user namespaces may be disabled: sysctl kernel.unprivileged_userns_clone=1)\n", err)
		return 1
	}
	r.Close()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	if err := writeIDMaps(cmd.Process.Pid); err != nil {
		fmt.Fprintf(os.Stderr, "kiln: rootless: %v\n", err)
		cmd.Process.Kill()
		cmd.Wait()
		return 1
	}
	w.Write([]byte{1})
	w.Close()
	err = cmd.Wait()
	signal.Stop(sigs)
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "kiln: rootless: %v\n", err)
	return 1
}

// writeIDMaps maps the user to root in the namespace of pid and the
// user's subordinate ids to 1…N, with newuidmap and newgidmap; without
// subordinate ids (or those tools) only the user itself is mapped, and a
// note says what will not work.
func writeIDMaps(pid int) error {
	uid, gid := os.Getuid(), os.Getgid()
	u, _ := user.Current()
	name := ""
	if u != nil {
		name = u.Username
	}
	subu, erru := subIDs("/etc/subuid", name, uid)
	subg, errg := subIDs("/etc/subgid", name, uid)
	_, err1 := exec.LookPath("newuidmap")
	_, err2 := exec.LookPath("newgidmap")
	if erru == nil && errg == nil && err1 == nil && err2 == nil {
		p := strconv.Itoa(pid)
		if out, err := exec.Command("newuidmap", p, "0", strconv.Itoa(uid), "1", "1", subu[0], subu[1]).CombinedOutput(); err != nil {
			return fmt.Errorf("newuidmap: %v: %s", err, strings.TrimSpace(string(out)))
		}
		if out, err := exec.Command("newgidmap", p, "0", strconv.Itoa(gid), "1", "1", subg[0], subg[1]).CombinedOutput(); err != nil {
			return fmt.Errorf("newgidmap: %v: %s", err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if os.Getenv("KILN_ROOTLESS_QUIET") == "" {
		fmt.Fprintf(os.Stderr, "kiln: note: no subordinate ids for %s (/etc/subuid, /etc/subgid, and newuidmap from Debian's uidmap): "+
			"only your own id is mapped, so files owned by other users (COPY --chown, base images with such files, RUN chown) cannot be made; "+
			"add a range, e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 %s\n", name, name)
	}
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/uid_map", pid), []byte(fmt.Sprintf("0 %d 1\n", uid)), 0); err != nil {
		return err
	}
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/setgroups", pid), []byte("deny"), 0); err != nil {
		return err
	}
	return os.WriteFile(fmt.Sprintf("/proc/%d/gid_map", pid), []byte(fmt.Sprintf("0 %d 1\n", gid)), 0)
}

// subIDs finds the user's first subordinate range in file (name:start:count,
// or uid:start:count).
func subIDs(file, name string, uid int) ([2]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return [2]string{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(parts) != 3 || (parts[0] != name && parts[0] != strconv.Itoa(uid)) {
			continue
		}
		if n, err := strconv.Atoi(parts[2]); err != nil || n < 1 {
			continue
		}
		return [2]string{parts[1], parts[2]}, nil
	}
	return [2]string{}, fmt.Errorf("no range for %s in %s", name, file)
}
