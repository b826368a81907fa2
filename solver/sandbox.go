package solver

import (
	"fmt"
	"strings"

	"github.com/kiln-build/kiln/runtime"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Entitlements a build may be granted (--allow), as buildx names them.
const (
	EntitlementNetworkHost      = "network.host"
	EntitlementSecurityInsecure = "security.insecure"
)

// sandbox is what every RUN of a build gets besides its own flags.
type sandbox struct {
	network  string // default, none or host (--network)
	allow    map[string]bool
	hosts    []runtime.Host
	shmSize  int64
	ulimits  []specs.POSIXRlimit
	insecure bool // the RUN asked for --security=insecure (per step)
	noProc   bool // no pid namespace (WithNoProcessSandbox)
}

// WithNoProcessSandbox runs RUN steps in kiln's own pid namespace with its
// /proc bound in, instead of a pid namespace of their own with a fresh
// /proc: for unprivileged Kubernetes pods whose masked /proc forbids the
// mount (rootless BuildKit's --oci-worker-no-process-sandbox). A RUN can
// then see the builder's processes; background processes it leaves are
// killed with the step only where kiln has cgroups (as root).
func WithNoProcessSandbox() Option {
	return func(o *options) error { o.sandbox.noProc = true; return nil }
}

// WithNetwork sets the network of every RUN step (--network): default
// (an own network namespace with outbound access), none, or host (needs
// WithAllow(EntitlementNetworkHost)). RUN --network overrides it.
func WithNetwork(mode string) Option {
	return func(o *options) error {
		switch mode {
		case "", "default":
			o.sandbox.network = "default"
		case "none", "host":
			o.sandbox.network = mode
		default:
			return fmt.Errorf("--network=%s: want default, none or host", mode)
		}
		return nil
	}
}

// WithAllow grants entitlements (--allow): network.host, security.insecure.
func WithAllow(ents ...string) Option {
	return func(o *options) error {
		for _, e := range ents {
			for _, one := range strings.Split(e, ",") {
				switch one = strings.TrimSpace(one); one {
				case EntitlementNetworkHost, EntitlementSecurityInsecure:
					if o.sandbox.allow == nil {
						o.sandbox.allow = map[string]bool{}
					}
					o.sandbox.allow[one] = true
				case "":
				default:
					return fmt.Errorf("--allow %s: want network.host or security.insecure", one)
				}
			}
		}
		return nil
	}
}

// WithAddHosts adds host:ip entries to every RUN's /etc/hosts (--add-host).
func WithAddHosts(values ...string) Option {
	return func(o *options) error {
		for _, v := range values {
			h, err := runtime.ParseHost(v)
			if err != nil {
				return err
			}
			o.sandbox.hosts = append(o.sandbox.hosts, h)
		}
		return nil
	}
}

// WithShmSize sets the size of /dev/shm in RUN steps, in bytes (--shm-size).
func WithShmSize(n int64) Option {
	return func(o *options) error {
		if n < 0 {
			return fmt.Errorf("--shm-size: must not be negative")
		}
		o.sandbox.shmSize = n
		return nil
	}
}

// WithUlimits sets resource limits of RUN steps (--ulimit name=soft:hard).
func WithUlimits(values ...string) Option {
	return func(o *options) error {
		for _, v := range values {
			u, err := runtime.ParseUlimit(v)
			if err != nil {
				return err
			}
			o.sandbox.ulimits = append(o.sandbox.ulimits, u)
		}
		return nil
	}
}

// runSandbox decides a RUN's network and security, checking entitlements
// as BuildKit does.
func (s *stage) runSandbox(c *instructions.RunCommand) (runtime.Network, bool, error) {
	mode := s.opts.sandbox.network
	if m := instructions.GetNetwork(c); m != instructions.NetworkDefault {
		mode = m
	}
	var network runtime.Network
	switch mode {
	case "", "default":
		network = runtime.NetworkDefault
	case "none":
		network = runtime.NetworkNone
	case "host":
		if !s.opts.sandbox.allow[EntitlementNetworkHost] {
			return 0, false, fmt.Errorf("network.host is not allowed (kiln build --allow %s)", EntitlementNetworkHost)
		}
		network = runtime.NetworkHost
	default:
		return 0, false, fmt.Errorf("--network=%s is not supported", mode)
	}
	insecure := false
	switch sec := instructions.GetSecurity(c); sec {
	case "", instructions.SecuritySandbox:
	case instructions.SecurityInsecure:
		if !s.opts.sandbox.allow[EntitlementSecurityInsecure] {
			return 0, false, fmt.Errorf("security.insecure is not allowed (kiln build --allow %s)", EntitlementSecurityInsecure)
		}
		insecure = true
	default:
		return 0, false, fmt.Errorf("--security=%s is not supported", sec)
	}
	return network, insecure, nil
}
