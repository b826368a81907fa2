package solver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/runtime"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runRun executes a RUN instruction in a container on a fresh upper dir.
func (s *stage) runRun(ctx context.Context, c *instructions.RunCommand, step *progress.Step) error {
	rms, err := s.mountsOf(c)
	if err != nil {
		return s.errorf(c.Location(), "RUN %w", err)
	}
	network, insecure, err := s.runSandbox(c)
	if err != nil {
		return s.errorf(c.Location(), "RUN %w", err)
	}
	args, mounts, err := s.runArgs(c)
	if err != nil {
		return s.errorf(c.Location(), "%w", err)
	}
	cfg := s.img.Config.Config
	k := cache.NewKey(s.key, "RUN").AddList("args", args).AddList("env", s.env).Add("user", cfg.User).
		Add("workdir", cfg.WorkingDir).Add("network", network.String())
	if insecure {
		k.Add("security", "insecure")
	}
	// BUILDKIT_SANDBOX_HOSTNAME names the RUN sandbox, as in BuildKit
	hostname, _ := s.plan.BuildArg("BUILDKIT_SANDBOX_HOSTNAME")
	if hostname != "" {
		k.Add("hostname", hostname)
	}
	if plat := s.ps.Platform; !dockerfile.SamePlatform(plat, dockerfile.HostPlatform()) {
		// a foreign platform's RUN runs under emulation (a custom executor
		// knows what it can run)
		if s.opts.executor == nil {
			if err := runtime.CanRun(plat.Architecture); err != nil {
				return s.errorf(c.Location(), "RUN: %w", err)
			}
		}
		k.Add("platform", dockerfile.FormatPlatform(plat))
	}
	if sb := s.opts.sandbox; len(sb.hosts) > 0 || sb.shmSize > 0 || len(sb.ulimits) > 0 {
		k.Add("sandbox", fmt.Sprint(sb.hosts, sb.shmSize, sb.ulimits))
	}
	for _, rm := range rms {
		mk, err := s.mountKey(ctx, rm)
		if err != nil {
			return s.errorf(c.Location(), "RUN --mount: %w", err)
		}
		k.Add("mount", mk)
	}
	auto := s.autoRun(runText(c, args))
	if len(auto) > 0 {
		k.Add("auto-cache", autoKey(auto))
	}
	key := k.String()
	tail := &tailBuffer{max: 20}
	out := step.Output()
	var code int
	var used map[string]string
	err = s.layerStepMounts(ctx, key, func(root string) error {
		exec, err := s.runner.executor()
		if err != nil {
			return err
		}
		autoMounts, autoUsed, err := s.autoMounts(ctx, root, auto, rms)
		if err != nil {
			return err
		}
		used = autoUsed
		release, err := s.sched.acquire(ctx)
		if err != nil {
			return err
		}
		defer release()
		extra, secretEnv, unmount, err := s.prepareMounts(ctx, rms)
		if err != nil {
			return err
		}
		defer unmount()
		u, err := resolveUser(root, s.img.Config.Config.User)
		if err != nil {
			return err
		}
		cwd := s.img.Config.Config.WorkingDir
		if cwd == "" {
			cwd = "/"
		}
		if _, err := mkdirAllOwned(root, cwd, int(u.UID), int(u.GID)); err != nil {
			return fmt.Errorf("creating working dir %s: %w", cwd, err)
		}
		env := append(s.runEnv(u), secretEnv...)
		sb := s.opts.sandbox
		// the automatic caches first: a RUN --mount inside one goes on top
		allMounts := append(append(autoMounts, mounts...), extra...)
		spec, err := runtime.NewSpec(runtime.Spec{Rootfs: root, Network: network, Mounts: allMounts, Hostname: hostname,
			ExtraHosts: sb.hosts, ShmSize: sb.shmSize, Ulimits: sb.ulimits, Insecure: insecure, NoProcessSandbox: sb.noProc,
			Process: runtime.Process{Args: args, Env: env, Cwd: cwd, UID: u.UID, GID: u.GID, AdditionalGids: u.Groups}})
		if err != nil {
			return err
		}
		w := teeWriter{out, tail}
		code, err = exec.Run(ctx, "kiln-"+randomID(), spec, runtime.Stdio{Stdout: w, Stderr: w})
		out.Flush()
		if err != nil && !sb.noProc && strings.Contains(err.Error(), `mounting "proc"`) && strings.Contains(err.Error(), "operation not permitted") {
			return fmt.Errorf("%w (this /proc is masked, as in an unprivileged pod, so a RUN cannot have a /proc of its own: "+
				"run with --no-process-sandbox, or unmask it: procMount: Unmasked)", err)
		}
		if err != nil {
			return err
		}
		if code != 0 {
			return &exitError{code: code}
		}
		return nil
	}, &used)
	if err != nil {
		return s.runError(c, args, err, tail)
	}
	prefix := s.runArgsPrefix()
	shown := args
	if len(prefix) > 0 {
		shown = append([]string{fmt.Sprintf("|%d", len(prefix))}, append(prefix, args...)...)
	}
	s.history("RUN "+strings.Join(shown, " "), true, true)
	return nil
}

// exitError is a RUN whose process failed: code is its exit status, or -n
// when signal n killed it (shown as BuildKit shows it, 128+n, and named).
type exitError struct{ code int }

func (e *exitError) Error() string {
	if e.code >= 0 {
		return fmt.Sprintf("exit code: %d", e.code)
	}
	sig := syscall.Signal(-e.code)
	msg := fmt.Sprintf("exit code: %d (killed by signal %d, %s", 128-e.code, -e.code, unix.SignalName(sig))
	if sig == syscall.SIGKILL {
		msg += ": out of memory, or killed"
	}
	return msg + ")"
}

func (s *stage) runError(c *instructions.RunCommand, args []string, err error, tail *tailBuffer) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ee *exitError
	msg := err.Error()
	if errors.As(err, &ee) {
		msg = fmt.Sprintf("process %q did not complete successfully: %v", strings.Join(args, " "), ee)
	}
	if t := tail.String(); t != "" {
		msg += "\n--- last lines of output ---\n" + t
	}
	return s.errorf(c.Location(), "RUN %s: %s", strings.Join(c.CmdLine, " "), msg)
}

// runArgs is the argv of a RUN, as BuildKit builds it: shell form through
// the stage's SHELL, exec form as is. A RUN that is just one heredoc runs
// its (chomped) body with the shell, or, when the body starts with "#!",
// as a script mounted at /dev/pipes/<name>; any other heredoc form is
// handed to the shell whole.
func (s *stage) runArgs(c *instructions.RunCommand) ([]string, []specs.Mount, error) {
	args := c.CmdLine
	var mounts []specs.Mount
	if len(c.Files) > 0 {
		if len(args) != 1 || !c.PrependShell {
			return nil, nil, fmt.Errorf("parsing produced an invalid run command: %v", args)
		}
		if parser.MustParseHeredoc(args[0]) != nil {
			f := c.Files[0]
			data := f.Data
			if f.Chomp {
				data = parser.ChompHeredocContent(data)
			}
			if strings.HasPrefix(data, "#!") {
				m, err := s.heredocScript(f.Name, data)
				if err != nil {
					return nil, nil, err
				}
				mounts = append(mounts, m)
				args = []string{"/dev/pipes/" + f.Name}
			} else {
				args = []string{data}
			}
		} else {
			var b strings.Builder
			b.WriteString(args[0])
			for _, f := range c.Files {
				b.WriteString("\n" + f.Data + f.Name)
			}
			args = []string{b.String()}
		}
	}
	if c.PrependShell {
		return append(s.shell(), strings.Join(args, " ")), mounts, nil
	}
	return append([]string(nil), args...), mounts, nil
}

// heredocScript writes a #! heredoc to a file and mounts it read-only at
// /dev/pipes/<name> (inside the container's /dev tmpfs: never in a layer).
func (s *stage) heredocScript(name, data string) (specs.Mount, error) {
	dir, err := os.MkdirTemp(s.tmp, "heredoc-")
	if err != nil {
		return specs.Mount{}, err
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
		return specs.Mount{}, err
	}
	return specs.Mount{Destination: "/dev/pipes/" + name, Type: "bind", Source: p,
		Options: []string{"rbind", "ro"}}, nil
}

// runEnv is the process environment: the stage env (ENV and ARG values),
// proxy build args, and HOME from the user's passwd entry when unset.
func (s *stage) runEnv(u execUser) []string {
	env := append([]string(nil), s.env...)
	for _, kv := range s.plan.ProxyEnv() {
		k, v, _ := strings.Cut(kv, "=")
		env = image.EnvSet(env, k, v)
	}
	if _, ok := image.EnvGet(env, "HOME"); !ok {
		home := u.Home
		if home == "" {
			home = "/"
		}
		env = append(env, "HOME="+home)
	}
	return env
}
