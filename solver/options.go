package solver

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"

	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/runtime"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/source"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Option configures Build.
type Option func(*options) error

type options struct {
	contextDir     string // "" = no context (a Dockerfile from stdin, no dir)
	dockerfile     string // path of the Dockerfile on disk
	dockerfileData []byte // or its content (stdin)
	target         string
	buildArgs      map[string]string
	labels         map[string]string
	jobs           int
	runtime        string // OCI runtime binary; "" = libcontainer in-process
	sink           progress.Sink
	noCache        bool
	noCacheFilter  []string
	secrets        map[string][]byte
	cacheFrom      []cache.Spec
	pull           bool
	snapshotter    snapshot.Kind
	contexts       map[string]string // named build contexts, by plan.ContextName
	platforms      []ocispecs.Platform
	ssh            map[string]sshSource
	sandbox        sandbox
	reproducible   bool
	noLeakCheck    bool
	noAutoCache    bool

	// test seams
	executor runtime.Executor
	sources  []source.Option
}

// makeOptions applies opts over the defaults, in one place.
func makeOptions(contextDir string, opts []Option) (*options, error) {
	o := &options{contextDir: contextDir, jobs: DefaultJobs(), sink: progress.Discard,
		buildArgs: map[string]string{}, secrets: map[string][]byte{}}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if len(o.platforms) == 0 {
		o.platforms = []ocispecs.Platform{dockerfile.HostPlatform()}
	}
	if o.dockerfile == "" && o.dockerfileData == nil {
		if contextDir == "" {
			return nil, fmt.Errorf("no Dockerfile: give a context directory or a Dockerfile")
		}
		o.dockerfile = filepath.Join(contextDir, "Dockerfile")
		lower := filepath.Join(contextDir, "dockerfile")
		if _, err := os.Stat(o.dockerfile); os.IsNotExist(err) {
			if _, err := os.Stat(lower); err == nil {
				o.dockerfile = lower // BuildKit falls back to the lower-case name
			}
		}
	}
	if contextDir != "" {
		fi, err := os.Stat(contextDir)
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("build context %s: not a directory", contextDir)
		}
	}
	return o, nil
}

// WithDockerfile reads the Dockerfile at path (default CONTEXT/Dockerfile).
// Its <path>.dockerignore takes precedence over the context's.
func WithDockerfile(path string) Option {
	return func(o *options) error { o.dockerfile = path; return nil }
}

// WithDockerfileContent uses data as the Dockerfile (read from stdin, say).
func WithDockerfileContent(data []byte) Option {
	return func(o *options) error { o.dockerfileData = data; return nil }
}

// WithTarget builds the named stage (default: the last).
func WithTarget(stage string) Option {
	return func(o *options) error { o.target = stage; return nil }
}

// WithBuildArgs sets build arguments (--build-arg).
func WithBuildArgs(args map[string]string) Option {
	return func(o *options) error {
		for k, v := range args {
			o.buildArgs[k] = v
		}
		return nil
	}
}

// WithLabels sets labels on the target image (--label).
func WithLabels(labels map[string]string) Option {
	return func(o *options) error { o.labels = labels; return nil }
}

// DefaultJobs is how many steps run at once unless WithJobs says: twice
// the CPUs. RUN steps wait on I/O and the network as often as they
// compute, and with one slot per CPU three CPU-bound stages on two CPUs
// ran two, then one (4.2 s; all three at once 3.4 s, as buildkitd, which
// sets no bound, 3.6 s).
func DefaultJobs() int { return 2 * goruntime.NumCPU() }

// WithJobs bounds the steps that run at once (default: DefaultJobs).
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("--jobs %d: must be at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithRuntime runs RUN steps with an external OCI runtime binary (runc, a
// path) instead of the built-in libcontainer.
func WithRuntime(name string) Option {
	return func(o *options) error { o.runtime = name; return nil }
}

// WithProgress sends the build's events to sink (default: none).
func WithProgress(sink progress.Sink) Option {
	return func(o *options) error { o.sink = progress.Or(sink); return nil }
}

// WithNoCache runs every step, whatever the cache holds (results are still
// recorded).
func WithNoCache() Option {
	return func(o *options) error { o.noCache = true; return nil }
}

// WithNoCacheFilter ignores the cache for the named stages only.
func WithNoCacheFilter(stages ...string) Option {
	return func(o *options) error {
		for _, s := range stages {
			for _, one := range strings.Split(s, ",") {
				if one = strings.TrimSpace(one); one != "" {
					o.noCacheFilter = append(o.noCacheFilter, strings.ToLower(one))
				}
			}
		}
		return nil
	}
}

// WithSecrets gives RUN --mount=type=secret its values, by id.
func WithSecrets(secrets map[string][]byte) Option {
	return func(o *options) error {
		for k, v := range secrets {
			o.secrets[k] = v
		}
		return nil
	}
}

// WithCacheFrom imports build caches, as --cache-from values
// (type=registry,ref=… or type=local,src=…).
func WithCacheFrom(values ...string) Option {
	return func(o *options) error {
		for _, v := range values {
			sp, err := cache.ParseSpec("--cache-from", v)
			if err != nil {
				return err
			}
			o.cacheFrom = append(o.cacheFrom, sp)
		}
		return nil
	}
}

// WithPlatforms builds the image for each platform (--platform
// linux/amd64,linux/arm64): one image for one, an index of them for more.
// Default: the host's platform. RUN steps of foreign platforms run under
// QEMU user emulation (binfmt_misc).
func WithPlatforms(values ...string) Option {
	return func(o *options) error {
		seen := map[string]bool{}
		for _, v := range values {
			for _, one := range strings.Split(v, ",") {
				if one = strings.TrimSpace(one); one == "" {
					continue
				}
				p, err := dockerfile.ParsePlatform(one)
				if err != nil {
					return fmt.Errorf("--platform=%s: %w", v, err)
				}
				if f := dockerfile.FormatPlatform(p); !seen[f] {
					seen[f] = true
					o.platforms = append(o.platforms, p)
				}
			}
		}
		return nil
	}
}

// WithSSH makes ssh agents available to RUN --mount=type=ssh, as --ssh
// values: "default" or "ID" (forwards $SSH_AUTH_SOCK), "ID=PATH[,PATH]"
// (an agent socket, or private key files).
func WithSSH(values ...string) Option {
	return func(o *options) error {
		srcs, err := parseSSH(values)
		if err != nil {
			return err
		}
		if o.ssh == nil {
			o.ssh = map[string]sshSource{}
		}
		for k, v := range srcs {
			o.ssh[k] = v
		}
		return nil
	}
}

// WithBuildContexts sets named build contexts (--build-context
// NAME=VALUE): VALUE is a directory, docker-image://REF,
// oci-layout://PATH[:TAG|@DIGEST] or target:STAGE, and replaces the stage
// or image NAME in FROM, COPY --from and RUN --mount from=.
func WithBuildContexts(ctxs map[string]string) Option {
	return func(o *options) error {
		if o.contexts == nil {
			o.contexts = map[string]string{}
		}
		for k, v := range ctxs {
			if strings.HasPrefix(v, "oci-layout://") || strings.HasPrefix(v, "docker-image://") || strings.HasPrefix(v, "target:") {
				o.contexts[plan.ContextName(k)] = v
				continue
			}
			if strings.Contains(v, "://") {
				return fmt.Errorf("--build-context %s=%s: want a directory, docker-image://REF, oci-layout://PATH or target:STAGE", k, v)
			}
			abs, err := filepath.Abs(v)
			if err != nil {
				return err
			}
			if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
				return fmt.Errorf("--build-context %s=%s: not a directory", k, v)
			}
			o.contexts[plan.ContextName(k)] = abs
		}
		return nil
	}
}

// WithoutAutoCache turns the automatic toolchain caches off: by default a
// builder stage's RUN steps that run Go get persistent mounts at Go's
// build and module caches, where nothing else reads them (see the rules
// in autocache.go); the image is the same either way.
func WithoutAutoCache() Option {
	return func(o *options) error { o.noAutoCache = true; return nil }
}

// WithPull checks the registry for newer base images even when the store
// has them under their name.
func WithPull() Option {
	return func(o *options) error { o.pull = true; return nil }
}

// WithSnapshotter picks how snapshots are stacked (default: overlay when
// kiln may mount it, else native copies).
func WithSnapshotter(kind snapshot.Kind) Option {
	return func(o *options) error { o.snapshotter = kind; return nil }
}

// WithExecutor runs RUN steps with e instead of kiln's own (WithRuntime is
// then ignored): a library user's sandbox, or a fake in tests.
func WithExecutor(e runtime.Executor) Option {
	return func(o *options) error { o.executor = e; return nil }
}

// withSources configures the base image resolver (tests).
func withSources(opts ...source.Option) Option {
	return func(o *options) error { o.sources = append(o.sources, opts...); return nil }
}

// HostPlatform is the platform of this machine, as os/arch[/variant].
func HostPlatform() string { return dockerfile.FormatPlatform(dockerfile.HostPlatform()) }

// ParsePlatform parses an os/arch[/variant] platform with containerd's
// rules (linux/aarch64 is linux/arm64); "" is the host's.
func ParsePlatform(s string) (ocispecs.Platform, error) {
	if s == "" {
		return dockerfile.HostPlatform(), nil
	}
	return dockerfile.ParsePlatform(s)
}
