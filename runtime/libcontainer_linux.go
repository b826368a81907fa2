package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	// Device cgroup rules need the devices cgroup manager.
	_ "github.com/opencontainers/cgroups/devices"
	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Libcontainer runs containers in-process with runc's libcontainer. The
// binary re-executes itself as the container init: see Init.
type Libcontainer struct {
	stateDir string
	opts     options
}

var _ Executor = (*Libcontainer)(nil)

// NewLibcontainer returns an Executor that runs containers in-process with
// runc's libcontainer, keeping their state in stateDir (for example
// <store>/tmp/run), which it creates. Cgroups use the cgroupfs driver.
func NewLibcontainer(stateDir string, opts ...Option) (Executor, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	dir, err := makeStateDir(stateDir)
	if err != nil {
		return nil, err
	}
	return &Libcontainer{stateDir: dir, opts: o}, nil
}

// Run implements Executor.
func (l *Libcontainer) Run(ctx context.Context, id string, spec *specs.Spec, stdio Stdio) (code int, retErr error) {
	if err := validateID(id); err != nil {
		return -1, err
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	files, err := os.MkdirTemp(l.stateDir, ".etc-"+id+"-")
	if err != nil {
		return -1, fmt.Errorf("runtime: %w", err)
	}
	defer os.RemoveAll(files)
	s, err := prepareSpec(spec, id, files, l.opts)
	if err != nil {
		return -1, err
	}
	rootfs := s.Root.Path
	release := acquireRootfs(rootfs, s.Mounts)
	defer func() {
		if err := release(); err != nil && retErr == nil {
			retErr = fmt.Errorf("runtime: removing mount points from rootfs: %w", err)
		}
	}()
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: id, Spec: s})
	if err != nil {
		return -1, fmt.Errorf("runtime: converting spec: %w", err)
	}
	c, err := libcontainer.Create(l.stateDir, id, cfg)
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
	if err := c.Run(p); err != nil {
		return -1, startError(s.Process.Args[0], err)
	}
	return waitLibcontainer(ctx, c, p)
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
