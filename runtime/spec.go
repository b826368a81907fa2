package runtime

import (
	"errors"
	"fmt"
	"io"
	"path"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Process describes what to run, already resolved by the caller.
type Process struct {
	Args           []string // argv; shell form is already wrapped: ["/bin/sh", "-c", "..."]
	Env            []string // full environment, KEY=VALUE
	Cwd            string   // absolute working dir inside the rootfs; the caller ensures it exists
	UID, GID       uint32
	AdditionalGids []uint32
	// Stdout and Stderr may be nil. NewSpec does not use them: pass them to
	// Executor.Run, for example with p.Stdio().
	Stdout, Stderr io.Writer
}

// Stdio returns the Stdio for Executor.Run: p's writers and no stdin.
func (p Process) Stdio() Stdio { return Stdio{Stdout: p.Stdout, Stderr: p.Stderr} }

// Network selects the container's network.
type Network int

const (
	// NetworkDefault gives the container its own network namespace with
	// outbound access only, like docker build's default bridge network: an
	// interface eth0 (10.0.2.100/24, MTU 65520) whose traffic slirp4netns
	// relays through sockets of the calling process, so the container
	// reaches whatever the host reaches (other hosts, and the host's own
	// non-loopback addresses) but not services bound to the host's
	// loopback, and nothing outside can connect in. It needs the
	// slirp4netns binary (see WithSlirp4netns); Run fails with an error
	// wrapping ErrNoSlirp4netns without it.
	NetworkDefault Network = iota
	// NetworkHost shares the host's network namespace (RUN --network=host).
	NetworkHost
	// NetworkNone gives the container its own namespace with only loopback.
	NetworkNone
)

// String returns the mode's name as RUN --network spells it.
func (n Network) String() string {
	switch n {
	case NetworkDefault:
		return "default"
	case NetworkHost:
		return "host"
	case NetworkNone:
		return "none"
	}
	return fmt.Sprintf("Network(%d)", int(n))
}

// DefaultHostname is the hostname NewSpec uses when Spec.Hostname is empty;
// it is BuildKit's, so RUN steps see what they see under docker build.
const DefaultHostname = "buildkitsandbox"

// Spec is what NewSpec needs to build an OCI runtime spec.
type Spec struct {
	Rootfs   string // absolute path of the root filesystem (the caller's overlay mount)
	Process  Process
	Network  Network       // NetworkDefault when zero
	Hostname string        // DefaultHostname when empty
	Mounts   []specs.Mount // extra mounts, after the defaults
	// ExtraHosts are added to /etc/hosts (--add-host).
	ExtraHosts []Host
	// ShmSize is the size of /dev/shm in bytes (--shm-size); 0 = 64 MiB.
	ShmSize int64
	// Ulimits replace or add resource limits (--ulimit).
	Ulimits []specs.POSIXRlimit
	// Insecure runs the process without the sandbox
	// (RUN --security=insecure): every capability, no seccomp filter.
	Insecure bool
	// NoProcessSandbox runs the process in the caller's pid namespace with
	// the caller's /proc bound in, instead of a pid namespace with a fresh
	// /proc (rootless BuildKit's --oci-worker-no-process-sandbox): for
	// unprivileged pods whose masked /proc forbids mounting a new one. The
	// process can see (and, as the same user, signal) the builder's other
	// processes, and without a cgroup processes it leaves running in the
	// background are not killed with it.
	NoProcessSandbox bool
}

// NewSpec returns an OCI runtime spec for s with the sandbox of a RUN step
// under BuildKit: mount, pid, uts and ipc namespaces (and network, unless
// NetworkHost); /proc, /dev (tmpfs with the runtime's default devices),
// /dev/pts, /dev/shm, /dev/mqueue, /sys read-only and the cgroup filesystem
// read-only; the default capabilities, masked paths, read-only paths and
// device cgroup rules; docker's default seccomp profile (for those
// capabilities); umask 0022 and RLIMIT_NOFILE set to this process's hard
// limit (at most 1048576). There is no AppArmor profile, and
// no_new_privileges is off, as under BuildKit.
//
// The /etc/resolv.conf and /etc/hosts bind mounts are not in the returned
// spec: Executor.Run adds them from files it writes outside the rootfs,
// unless s.Mounts already has those destinations. /etc/hostname is not
// mounted: the hostname is the UTS one, and the image's /etc/hostname (if
// any) is what the process sees and may change, as under BuildKit.
func NewSpec(s Spec) (*specs.Spec, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	hostname := s.Hostname
	if hostname == "" {
		hostname = DefaultHostname
	}
	umask := uint32(0o022)
	caps := DefaultCapabilities()
	nofile := maxNofile()
	spec := &specs.Spec{
		Version:  specs.Version,
		Root:     &specs.Root{Path: s.Rootfs},
		Hostname: hostname,
		Process: &specs.Process{
			Args: slices.Clone(s.Process.Args),
			Env:  slices.Clone(s.Process.Env),
			Cwd:  s.Process.Cwd,
			User: specs.User{
				UID:            s.Process.UID,
				GID:            s.Process.GID,
				AdditionalGids: slices.Clone(s.Process.AdditionalGids),
				Umask:          &umask,
			},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Permitted: slices.Clone(caps),
				Effective: slices.Clone(caps),
			},
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Hard: nofile, Soft: nofile},
			},
		},
		Mounts: append(replaced(append(defaultMounts(), cgroupMount()), s.Mounts), s.Mounts...),
		Linux: &specs.Linux{
			Namespaces:    namespaces(s.Network),
			MaskedPaths:   defaultMaskedPaths(),
			ReadonlyPaths: defaultReadonlyPaths(),
			Resources:     &specs.LinuxResources{Devices: defaultDeviceRules()},
		},
	}
	if s.Network == NetworkDefault {
		spec.Annotations = map[string]string{networkAnnotation: networkSlirp4netns}
	}
	seccomp, err := defaultSeccomp(spec)
	if err != nil {
		return nil, err
	}
	spec.Linux.Seccomp = seccomp
	s.applyExtras(spec)
	return spec, nil
}

func (s Spec) validate() error {
	switch {
	case !path.IsAbs(s.Rootfs):
		return fmt.Errorf("runtime: rootfs %q is not an absolute path", s.Rootfs)
	case len(s.Process.Args) == 0:
		return errors.New("runtime: process has no args")
	case !path.IsAbs(s.Process.Cwd):
		return fmt.Errorf("runtime: cwd %q is not an absolute path", s.Process.Cwd)
	case s.Network != NetworkDefault && s.Network != NetworkHost && s.Network != NetworkNone:
		return fmt.Errorf("runtime: unknown network mode %d", s.Network)
	}
	for _, m := range s.Mounts {
		if !path.IsAbs(m.Destination) {
			return fmt.Errorf("runtime: mount destination %q is not an absolute path", m.Destination)
		}
	}
	return nil
}

func namespaces(n Network) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{
		{Type: specs.MountNamespace},
		{Type: specs.PIDNamespace},
		{Type: specs.UTSNamespace},
		{Type: specs.IPCNamespace},
	}
	if n != NetworkHost {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace})
	}
	return ns
}

// networkAnnotation, set to networkSlirp4netns, asks Executor.Run to
// connect the spec's network namespace to the outside with slirp4netns
// (see NetworkDefault). Run then gives the namespace a path.
const (
	networkAnnotation  = "dev.kiln.network"
	networkSlirp4netns = "slirp4netns"
)

// replaced drops the default mounts that an extra mount replaces (a tmpfs
// at /dev/shm, say): mounting both would hide the default under the extra
// one for no use.
func replaced(defaults, extra []specs.Mount) []specs.Mount {
	var out []specs.Mount
	for _, d := range defaults {
		if !slices.ContainsFunc(extra, func(m specs.Mount) bool { return path.Clean(m.Destination) == d.Destination }) {
			out = append(out, d)
		}
	}
	return out
}
