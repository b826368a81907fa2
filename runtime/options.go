package runtime

import (
	"errors"
	"path"
)

// Option configures an executor made by NewLibcontainer or NewOCIRuntime.
type Option func(*options)

type options struct {
	resolvConf   string // the host's resolv.conf; "" picks it as BuildKit does
	cgroupParent string // cgroupfs path under which each container gets its cgroup
	slirp4netns  string // slirp4netns binary for NetworkDefault
	seccompCache string // directory of compiled seccomp programs ("" none)
}

// WithResolvConf makes path the host resolver configuration that each
// container's /etc/resolv.conf is made from. By default that is
// /etc/resolv.conf, or /run/systemd/resolve/resolv.conf for a container with
// its own network namespace when /etc/resolv.conf names only
// systemd-resolved's 127.0.0.53, as under BuildKit. The container gets it as
// BuildKit renders it: comments dropped and, unless the container shares the
// host's network, without loopback nameservers (and with 8.8.8.8, 8.8.4.4 and
// Google's IPv6 ones if none is left). A missing file counts as empty.
func WithResolvConf(path string) Option {
	return func(o *options) { o.resolvConf = path }
}

// WithCgroupParent puts each container's cgroup at parent/<id> (default
// /kiln) in every cgroupfs hierarchy. It is ignored when the spec already
// has linux.cgroupsPath.
func WithCgroupParent(parent string) Option {
	return func(o *options) { o.cgroupParent = parent }
}

// WithSlirp4netns sets the slirp4netns binary that connects NetworkDefault
// containers to the outside: a name looked up in PATH when needed, or a
// path (default "slirp4netns").
func WithSlirp4netns(binary string) Option {
	return func(o *options) { o.slirp4netns = binary }
}

// WithSeccompCache keeps compiled seccomp programs in dir, so that a new
// process's first RUN does not compile the profile again (libseccomp takes
// about 13 ms for docker's default profile here). Programs are keyed by
// the profile, libseccomp's version, the architecture and this executable.
func WithSeccompCache(dir string) Option {
	return func(o *options) { o.seccompCache = dir }
}

func makeOptions(opts []Option) (options, error) {
	o := options{cgroupParent: "/kiln", slirp4netns: "slirp4netns"}
	for _, opt := range opts {
		opt(&o)
	}
	if !path.IsAbs(o.cgroupParent) {
		return o, errors.New("runtime: cgroup parent must be an absolute path")
	}
	if o.slirp4netns == "" {
		return o, errors.New("runtime: empty slirp4netns binary")
	}
	return o, nil
}
