package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"

	// Device cgroup rules need the devices cgroup manager.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// Libcontainer runs containers in-process with runc's libcontainer. The
// binary re-executes itself as the container init: see Init.
type Libcontainer struct {
	stateDir string
	etcDir   string // the /etc files containers share (see etcFile)
	// sealBase, when not empty, is where each Run makes the root for
	// libcontainer's state dirs instead of stateDir (see sealBase).
	sealBase string
	opts     options
}

var _ Executor = (*Libcontainer)(nil)

var quietLibcontainer sync.Once

// NewLibcontainer returns an Executor that runs containers in-process with
// runc's libcontainer, keeping their state in stateDir (for example
// <store>/tmp/run), which it creates. Cgroups use the cgroupfs driver.
func NewLibcontainer(stateDir string, opts ...Option) (Executor, error) {
	quietLibcontainer.Do(func() {
		// libcontainer logs through logrus' standard logger; its warnings
		// ("unable to get oom kill count" without cgroups, rootless) are
		// noise in a build's output, and its errors come back as errors
		if logrus.GetLevel() > logrus.ErrorLevel {
			logrus.SetLevel(logrus.ErrorLevel)
		}
	})
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	dir, err := makeStateDir(stateDir)
	if err != nil {
		return nil, err
	}
	etc := filepath.Join(dir, "etc")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		return nil, fmt.Errorf("runtime: state dir: %w", err)
	}
	return &Libcontainer{stateDir: dir, etcDir: etc, sealBase: sealBase(dir), opts: o}, nil
}

// Run implements Executor.
func (l *Libcontainer) Run(ctx context.Context, id string, spec *specs.Spec, stdio Stdio) (code int, retErr error) {
	if err := validateID(id); err != nil {
		return -1, err
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	s, err := prepareSpec(spec, id, l.etcDir, l.opts)
	if err != nil {
		return -1, err
	}
	stopNetwork, err := setupNetwork(ctx, s, l.opts)
	if err != nil {
		return -1, err
	}
	defer stopNetwork() // after the container is gone
	rootfs := s.Root.Path
	release := acquireRootfs(rootfs, s.Mounts)
	defer func() {
		if err := release(); err != nil && retErr == nil {
			retErr = fmt.Errorf("runtime: removing mount points from rootfs: %w", err)
		}
	}()
	var filter *seccompProgram
	if s.Linux.Seccomp != nil {
		// Loaded by Run itself (see seccompload_linux.go), not libcontainer.
		if filter, err = compiledSeccomp(s.Linux.Seccomp, l.opts.seccompCache); err != nil {
			return -1, err
		}
		linux := *s.Linux
		linux.Seccomp = nil
		s.Linux = &linux
	}
	rootless := Rootless()
	if rootless {
		rootlessSpec(s)
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: id, Spec: s,
		RootlessCgroups: rootless})
	if err != nil {
		return -1, fmt.Errorf("runtime: converting spec: %w", err)
	}
	root, removeRoot, err := l.containerRoot()
	if err != nil {
		return -1, err
	}
	defer removeRoot()
	c, err := libcontainer.Create(root, id, cfg)
	if err != nil {
		return -1, fmt.Errorf("runtime: creating container %s: %w", id, err)
	}
	defer func() {
		if err := c.Destroy(); err != nil && retErr == nil {
			retErr = fmt.Errorf("runtime: destroying container %s: %w", id, err)
		}
	}()
	p, err := newLibcontainerProcess(s.Process, stdio)
	if err != nil {
		return -1, err
	}
	var sec *seccompSocket
	if filter != nil {
		if sec, err = newSeccompSocket(); err != nil {
			return -1, err
		}
		defer sec.Close()
		p.ExtraFiles = []*os.File{sec.child}
	}
	// The container init dies with the thread that forks it (see Init): keep
	// this goroutine, which forks it, on its thread until the init is gone,
	// so that the Go runtime neither ends the thread nor lends it out.
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	if err := c.Start(p); err != nil {
		return -1, startError(s.Process.Args[0], err)
	}
	if sec != nil {
		sec.child.Close()
		if err := sec.load(ctx, filter); err != nil {
			_ = p.Signal(unix.SIGKILL)
			_, _ = p.Wait()
			return -1, err
		}
	}
	if err := c.Exec(); err != nil {
		_ = p.Signal(unix.SIGKILL)
		_, _ = p.Wait()
		return -1, fmt.Errorf("runtime: starting container %s: %w", id, err)
	}
	return waitLibcontainer(ctx, c, p)
}

// containerRoot returns the directory to give libcontainer.Create as its
// root, and a func that removes it if Run made it.
func (l *Libcontainer) containerRoot() (string, func(), error) {
	if l.sealBase == "" {
		return l.stateDir, func() {}, nil
	}
	dir, err := os.MkdirTemp(l.sealBase, "kiln-run-")
	if err != nil {
		return "", nil, fmt.Errorf("runtime: %w", err)
	}
	// held for the container's life: store.SweepStale leaves a locked
	// state dir alone (kill -9 releases the lock, and the next start sweeps)
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		fd = -1
	} else if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		unix.Close(fd)
		fd = -1
	}
	return dir, func() {
		_ = os.RemoveAll(dir)
		if fd >= 0 {
			unix.Close(fd)
		}
	}, nil
}

// sealBase returns "" when libcontainer can keep its container state dirs
// in stateDir, or else a directory under which to keep them.
//
// libcontainer starts each container's init from a sealed view of this
// binary (CVE-2019-5736): an overlay mount whose lower layers are the
// binary's directory and the container's state dir. When the state dir is
// inside the binary's directory (kiln next to its store, say) overlayfs
// refuses the overlapping layers and libcontainer copies the whole binary
// into a memfd instead, for every container: about 16 ms for 20 MB, and the
// memory it frees makes the file creations that follow slower too. The
// temporary directory or /dev/shm then hold the state dirs, which Run
// removes; if neither is outside the binary's directory (the binary itself
// is in one of them), stateDir is used anyway.
func sealBase(stateDir string) string {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return ""
	}
	exeDir := filepath.Dir(exe)
	if !within(stateDir, exeDir) {
		return ""
	}
	for _, dir := range []string{os.TempDir(), "/dev/shm"} {
		if !within(dir, exeDir) {
			return dir
		}
	}
	return ""
}

// within reports whether path is dir or inside it, symlinks resolved.
func within(path, dir string) bool {
	real := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return filepath.Clean(p)
	}
	rel, err := filepath.Rel(real(dir), real(path))
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// waitLibcontainer waits for p, killing the container if ctx is done.
func waitLibcontainer(ctx context.Context, c *libcontainer.Container, p *libcontainer.Process) (int, error) {
	done := make(chan struct{})
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		select {
		case <-ctx.Done():
			// The pid namespace dies with its init, taking every process along.
			_ = p.Signal(unix.SIGKILL)
		case <-done:
		}
	}()
	ps, err := p.Wait()
	close(done)
	<-killed
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if ps == nil {
		return -1, fmt.Errorf("runtime: waiting for container process: %w", err)
	}
	return exitCode(ps), nil
}

func newLibcontainerProcess(sp *specs.Process, stdio Stdio) (*libcontainer.Process, error) {
	p := &libcontainer.Process{
		Args:   sp.Args,
		Env:    sp.Env,
		Cwd:    sp.Cwd,
		UID:    int(sp.User.UID),
		GID:    int(sp.User.GID),
		Stdin:  stdio.Stdin,
		Stdout: stdio.Stdout,
		Stderr: stdio.Stderr,
		Init:   true,
	}
	for _, g := range sp.User.AdditionalGids {
		p.AdditionalGroups = append(p.AdditionalGroups, int(g))
	}
	rl, err := rlimits(sp.Rlimits)
	if err != nil {
		return nil, err
	}
	p.Rlimits = rl
	return p, nil
}

// makeStateDir creates dir and returns its absolute path.
func makeStateDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("runtime: empty state dir")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("runtime: state dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o711); err != nil {
		return "", fmt.Errorf("runtime: state dir: %w", err)
	}
	return abs, nil
}
