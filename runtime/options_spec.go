package runtime

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hostsAnnotation carries extra /etc/hosts lines from NewSpec to Run.
const hostsAnnotation = "dev.kiln.hosts"

// applyExtras applies the optional parts of s (extra hosts, /dev/shm
// size, ulimits, the insecure sandbox) to spec.
func (s Spec) applyExtras(spec *specs.Spec) {
	if len(s.ExtraHosts) > 0 {
		if spec.Annotations == nil {
			spec.Annotations = map[string]string{}
		}
		var b strings.Builder
		for _, h := range s.ExtraHosts {
			b.WriteString(h.IP + "\t" + h.Host + "\n")
		}
		spec.Annotations[hostsAnnotation] = b.String()
	}
	if s.ShmSize > 0 {
		for i, m := range spec.Mounts {
			if m.Destination != "/dev/shm" {
				continue
			}
			opts := slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return strings.HasPrefix(o, "size=") })
			spec.Mounts[i].Options = append(opts, fmt.Sprintf("size=%dk", (s.ShmSize+1023)/1024))
		}
	}
	for _, u := range s.Ulimits {
		rl := spec.Process.Rlimits
		if i := slices.IndexFunc(rl, func(r specs.POSIXRlimit) bool { return r.Type == u.Type }); i >= 0 {
			rl[i] = u
		} else {
			spec.Process.Rlimits = append(rl, u)
		}
	}
	if s.Insecure {
		insecure(spec)
	}
	if s.NoProcessSandbox {
		noProcessSandbox(spec)
	}
}

// insecure turns spec into RUN --security=insecure's sandbox, as BuildKit's
// (privileged): every capability, no seccomp filter, no masked or
// read-only paths, every device allowed, /sys and the cgroup filesystem
// writable.
func insecure(spec *specs.Spec) {
	var all []string
	caps, err := capability.NewPid2(0)
	if err == nil {
		err = caps.Load()
	}
	for _, c := range capability.ListKnown() {
		// only what kiln itself may pass on: its bounding set
		if err == nil && !caps.Get(capability.BOUNDING, c) {
			continue
		}
		all = append(all, "CAP_"+strings.ToUpper(c.String()))
	}
	spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: all, Permitted: slices.Clone(all), Effective: slices.Clone(all)}
	spec.Linux.Seccomp = nil
	spec.Linux.MaskedPaths = nil
	spec.Linux.ReadonlyPaths = nil
	spec.Linux.Resources.Devices = []specs.LinuxDeviceCgroup{{Allow: true, Access: "rwm"}}
	for i, m := range spec.Mounts {
		if m.Destination == "/sys" || m.Destination == cgroupMountDest {
			spec.Mounts[i].Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "ro" })
			spec.Mounts[i].Options = append(spec.Mounts[i].Options, "rw")
		}
	}
}

// Host is one --add-host entry.
type Host struct{ Host, IP string }

// ParseHost reads an --add-host value: host:ip or host=ip (the IP may be
// IPv6, as in docker).
func ParseHost(v string) (Host, error) {
	host, ip, ok := strings.Cut(v, "=")
	if !ok {
		host, ip, ok = strings.Cut(v, ":")
	}
	if !ok || host == "" || ip == "" {
		return Host{}, fmt.Errorf("--add-host %q: want host:ip", v)
	}
	return Host{Host: host, IP: strings.Trim(ip, "[]")}, nil
}

// ParseUlimit reads a --ulimit value as docker: name=soft[:hard]
// (nofile=1024:2048).
func ParseUlimit(v string) (specs.POSIXRlimit, error) {
	name, vals, ok := strings.Cut(v, "=")
	if !ok {
		return specs.POSIXRlimit{}, fmt.Errorf("--ulimit %q: want name=soft[:hard]", v)
	}
	known := map[string]string{"core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
		"locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE",
		"nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
		"rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK", "as": "RLIMIT_AS"}
	typ, ok := known[name]
	if !ok {
		return specs.POSIXRlimit{}, fmt.Errorf("--ulimit %q: unknown limit %q", v, name)
	}
	soft, hard, hasHard := strings.Cut(vals, ":")
	if !hasHard {
		hard = soft
	}
	var s, h int64
	if _, err := fmt.Sscan(soft, &s); err != nil {
		return specs.POSIXRlimit{}, fmt.Errorf("--ulimit %q: %w", v, err)
	}
	if _, err := fmt.Sscan(hard, &h); err != nil {
		return specs.POSIXRlimit{}, fmt.Errorf("--ulimit %q: %w", v, err)
	}
	if s < 0 || h < 0 || s > h {
		return specs.POSIXRlimit{}, fmt.Errorf("--ulimit %q: soft limit must be at most the hard limit", v)
	}
	return specs.POSIXRlimit{Type: typ, Soft: uint64(s), Hard: uint64(h)}, nil
}

// noProcessSandbox drops the pid namespace and binds the caller's /proc in
// place of a fresh one (see Spec.NoProcessSandbox).
func noProcessSandbox(spec *specs.Spec) {
	spec.Linux.Namespaces = slices.DeleteFunc(spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
		return n.Type == specs.PIDNamespace
	})
	for i, m := range spec.Mounts {
		if m.Destination == "/proc" && m.Type == "proc" {
			spec.Mounts[i] = specs.Mount{Destination: "/proc", Type: "bind", Source: "/proc",
				Options: []string{"rbind", "nosuid", "noexec", "nodev"}}
		}
	}
}
