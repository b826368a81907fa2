package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrNoSlirp4netns is wrapped by the error Run returns for a NetworkDefault
// container when the slirp4netns binary is not found.
var ErrNoSlirp4netns = errors.New("runtime: slirp4netns not found (needed for the default network; Debian: apt-get install slirp4netns)")

// slirpReadyTimeout bounds the wait for slirp4netns to configure the
// namespace.
const slirpReadyTimeout = 10 * time.Second

// Network for NetworkDefault, per Run:
//
//  1. a new network namespace, held by an fd of this process (no mount, so
//     nothing outlives this process), with lo up and a persistent tap
//     device eth0;
//  2. slirp4netns on it: it configures eth0 (10.0.2.100/24, gateway
//     10.0.2.2, MTU 65520) and relays its traffic through sockets in this
//     process's network namespace, refusing connections to 10.0.2.2 (the
//     host's loopback) with --disable-host-loopback;
//  3. the container joins the namespace by path (/proc/<pid>/fd/<fd>).
//
// Afterwards slirp4netns is killed and the fd closed; the kernel removes the
// namespace, and eth0 with it, in the background. A persistent eth0 is what
// keeps teardown fast: when the process holding a non-persistent tap exits,
// the kernel unregisters the device synchronously, which takes 15-40 ms
// here. slirp4netns also exits by itself when this process dies (--exit-fd).

// slirpNetwork is one running NetworkDefault network.
type slirpNetwork struct {
	ns    *os.File  // the network namespace
	cmd   *exec.Cmd // slirp4netns
	exitW *os.File  // slirp4netns exits when this is closed
}

// setupNetwork starts the network that s asks for with networkAnnotation,
// if any, and sets the path of s's network namespace (s must be Run's own
// copy). Unless it fails, the returned stop func (a no-op when there is no
// network to set up) ends it.
// tapName is the RUN's network interface: eth0, as under docker build's
// bridge network (scripts look for it by that name).
const tapName = "eth0"

func setupNetwork(ctx context.Context, s *specs.Spec, o options) (stop func(), err error) {
	if s.Annotations[networkAnnotation] != networkSlirp4netns || s.Linux == nil {
		return func() {}, nil
	}
	i := -1
	for j, n := range s.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace && n.Path == "" {
			i = j
		}
	}
	if i < 0 {
		return func() {}, nil
	}
	bin, err := exec.LookPath(o.slirp4netns)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSlirp4netns, err)
	}
	ns, err := newNetns(tapName)
	if err != nil {
		return nil, fmt.Errorf("runtime: creating network namespace: %w", err)
	}
	path := "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.Itoa(int(ns.Fd()))
	n, err := startSlirp(ctx, bin, path)
	for try := 1; err != nil && try < 3 && strings.Contains(err.Error(), "resource busy"); try++ {
		// the tap still attached somewhere (see setupNetns): once more
		time.Sleep(time.Duration(try) * 20 * time.Millisecond)
		n, err = startSlirp(ctx, bin, path)
	}
	if err != nil {
		ns.Close()
		return nil, err
	}
	n.ns = ns
	namespaces := append([]specs.LinuxNamespace(nil), s.Linux.Namespaces...)
	namespaces[i].Path = path
	s.Linux.Namespaces = namespaces
	return n.stop, nil
}

// startSlirp starts slirp4netns on the namespace at nsPath and waits until
// it has configured it.
func startSlirp(ctx context.Context, bin, nsPath string) (*slirpNetwork, error) {
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("runtime: %w", err)
	}
	defer readyR.Close()
	exitR, exitW, err := os.Pipe()
	if err != nil {
		readyW.Close()
		return nil, fmt.Errorf("runtime: %w", err)
	}
	cmd := exec.Command(bin, "--configure", "--mtu=65520", "--disable-host-loopback",
		"--enable-sandbox", "--enable-seccomp",
		"--netns-type=path", "--ready-fd=3", "--exit-fd=4", nsPath, tapName)
	cmd.ExtraFiles = []*os.File{readyW, exitR}
	var out tailWriter
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Start()
	readyW.Close()
	exitR.Close()
	if err != nil {
		exitW.Close()
		return nil, fmt.Errorf("runtime: starting slirp4netns: %w", err)
	}
	n := &slirpNetwork{cmd: cmd, exitW: exitW}
	deadline := time.Now().Add(slirpReadyTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = readyR.SetReadDeadline(deadline)
	stopWait := context.AfterFunc(ctx, func() { _ = readyR.SetReadDeadline(time.Now()) })
	defer stopWait()
	buf := make([]byte, 1)
	if _, err := readyR.Read(buf); err != nil || buf[0] != '1' {
		n.stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("runtime: slirp4netns did not start: %v %s", err, out.String())
	}
	return n, nil
}

// stop kills slirp4netns, waits for it and closes the namespace fd.
func (n *slirpNetwork) stop() {
	_ = n.cmd.Process.Kill()
	_ = n.cmd.Wait()
	n.exitW.Close()
	if n.ns != nil {
		n.ns.Close()
	}
}

// newNetns returns a new network namespace with lo up and a persistent tap
// device named tap.
func newNetns(tap string) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		// The thread enters the new namespace; if it cannot get back,
		// it stays locked and the Go runtime ends it with the goroutine.
		goruntime.LockOSThread()
		f, back, err := enterNewNetns(tap)
		if back {
			goruntime.UnlockOSThread()
		}
		done <- result{f, err}
	}()
	r := <-done
	return r.f, r.err
}

// enterNewNetns moves this thread into a new network namespace, sets it up,
// opens it and moves back; back reports whether the thread is back in its
// namespace.
func enterNewNetns(tap string) (ns *os.File, back bool, err error) {
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		return nil, true, err
	}
	defer orig.Close()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return nil, true, fmt.Errorf("unshare: %w", err)
	}
	ns, err = os.Open("/proc/thread-self/ns/net")
	if err == nil {
		err = setupNetns(tap)
	}
	if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr != nil {
		// rootless: the original namespace belongs to the host's user
		// namespace and cannot be entered again; the thread, locked, ends
		// with its goroutine, and the new namespace lives on through ns
		if err != nil && ns != nil {
			ns.Close()
			return nil, false, err
		}
		return ns, false, err
	}
	if err != nil {
		if ns != nil {
			ns.Close()
		}
		return nil, true, err
	}
	return ns, true, nil
}

// setupNetns brings lo up and creates the persistent tap device, in the
// thread's network namespace.
func setupNetns(tap string) error {
	sock, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(sock)
	lo, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(sock, unix.SIOCGIFFLAGS, lo); err != nil {
		return fmt.Errorf("lo flags: %w", err)
	}
	lo.SetUint16(lo.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(sock, unix.SIOCSIFFLAGS, lo); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	// No fork may happen while the tap's fd is open: a child between fork
	// and exec holds a copy of it (O_CLOEXEC closes it only at exec), which
	// keeps the persistent tap attached, and slirp4netns's TUNSETIFF then
	// fails with EBUSY (seen under load, with several RUNs starting at
	// once). Go's fork takes ForkLock for writing.
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("tap device: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(tap)
	if err != nil {
		return err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return fmt.Errorf("tap device: %w", err)
	}
	if err := unix.IoctlSetInt(fd, unix.TUNSETPERSIST, 1); err != nil {
		return fmt.Errorf("tap device: %w", err)
	}
	return nil
}

// tailWriter keeps the last bytes written to it, for error messages.
type tailWriter struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 2048

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > tailMax {
		w.buf = w.buf[len(w.buf)-tailMax:]
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(string(w.buf))
}
