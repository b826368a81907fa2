package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// OCIRuntime runs containers with an external OCI runtime binary such as
// runc, on a bundle (config.json and the etc files) it writes under stateDir.
type OCIRuntime struct {
	binary   string // resolved path of the runtime
	stateDir string // bundles live here
	root     string // the runtime's --root
	opts     options
}

var _ Executor = (*OCIRuntime)(nil)

// killGrace is how long Run waits for the runtime to exit after a kill
// before killing the runtime itself.
const killGrace = 5 * time.Second

// NewOCIRuntime returns an Executor that runs binary (a name looked up in
// PATH, or a path) as "<binary> run" on a bundle dir created under stateDir.
// The runtime's own state is kept in stateDir/oci-root.
func NewOCIRuntime(binary, stateDir string, opts ...Option) (Executor, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	bin, err := exec.LookPath(binary)
	if err != nil {
		return nil, fmt.Errorf("runtime: OCI runtime: %w", err)
	}
	dir, err := makeStateDir(stateDir)
	if err != nil {
		return nil, err
	}
	return &OCIRuntime{binary: bin, stateDir: dir, root: filepath.Join(dir, "oci-root"), opts: o}, nil
}

// Run implements Executor.
func (r *OCIRuntime) Run(ctx context.Context, id string, spec *specs.Spec, stdio Stdio) (code int, retErr error) {
	if err := validateID(id); err != nil {
		return -1, err
	}
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	bundle, err := os.MkdirTemp(r.stateDir, ".bundle-"+id+"-")
	if err != nil {
		return -1, fmt.Errorf("runtime: %w", err)
	}
	defer os.RemoveAll(bundle)
	s, err := prepareSpec(spec, id, bundle, r.opts)
	if err != nil {
		return -1, err
	}
	stopNetwork, err := setupNetwork(ctx, s, r.opts)
	if err != nil {
		return -1, err
	}
	defer stopNetwork() // after the container is gone
	if err := writeConfig(bundle, s); err != nil {
		return -1, err
	}
	rootfs := s.Root.Path
	release := acquireRootfs(rootfs, s.Mounts)
	defer func() {
		if err := release(); err != nil && retErr == nil {
			retErr = fmt.Errorf("runtime: removing mount points from rootfs: %w", err)
		}
	}()
	logFile := filepath.Join(bundle, "log.json")
	cmd := exec.Command(r.binary, "--root", r.root, "--log", logFile, "--log-format", "json",
		"run", "--bundle", bundle, id)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.Stdin, stdio.Stdout, stdio.Stderr
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("runtime: starting %s: %w", r.binary, err)
	}
	err = r.wait(ctx, id, cmd)
	if ctx.Err() != nil {
		r.forceDelete(id)
		return -1, ctx.Err()
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		r.forceDelete(id)
		return -1, fmt.Errorf("runtime: running %s: %w", r.binary, err)
	}
	if msg := runtimeError(logFile); msg != "" {
		r.forceDelete(id)
		return -1, startError(s.Process.Args[0], errors.New(msg))
	}
	return exitCode(cmd.ProcessState), nil
}

// wait waits for the runtime; when ctx is done it has the runtime SIGKILL the
// container, and kills the runtime itself if it has not exited killGrace later.
func (r *OCIRuntime) wait(ctx context.Context, id string, cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	_ = exec.Command(r.binary, "--root", r.root, "kill", id, "KILL").Run()
	select {
	case err := <-done:
		return err
	case <-time.After(killGrace):
		_ = cmd.Process.Kill()
		return <-done
	}
}

// forceDelete removes what is left of container id, if anything.
func (r *OCIRuntime) forceDelete(id string) {
	if _, err := os.Stat(filepath.Join(r.root, id)); err != nil {
		return
	}
	_ = exec.Command(r.binary, "--root", r.root, "delete", "--force", id).Run()
}

func writeConfig(bundle string, s *specs.Spec) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("runtime: encoding config.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o600); err != nil {
		return fmt.Errorf("runtime: writing config.json: %w", err)
	}
	return nil
}

// runtimeError returns the last error the runtime logged (runc's JSON log
// format), or "" if it logged none.
func runtimeError(logFile string) string {
	f, err := os.Open(logFile)
	if err != nil {
		return ""
	}
	defer f.Close()
	var last string
	dec := json.NewDecoder(f)
	for {
		var entry struct{ Level, Msg string }
		if err := dec.Decode(&entry); err != nil {
			return last
		}
		if entry.Level == "error" || entry.Level == "fatal" {
			last = entry.Msg
		}
	}
}
