package runtime

import (
	"errors"
	"path"
)

// Option configures an executor made by NewLibcontainer or NewOCIRuntime.
type Option func(*options)

type options struct {
	resolvConf   string // host file copied to the container's /etc/resolv.conf
	cgroupParent string // cgroupfs path under which each container gets its cgroup
}

// WithResolvConf copies the file at path (default /etc/resolv.conf) into
// each container's /etc/resolv.conf. A missing file gives an empty one.
func WithResolvConf(path string) Option {
	return func(o *options) { o.resolvConf = path }
}

// WithCgroupParent puts each container's cgroup at parent/<id> (default
// /kiln) in every cgroupfs hierarchy. It is ignored when the spec already
// has linux.cgroupsPath.
func WithCgroupParent(parent string) Option {
	return func(o *options) { o.cgroupParent = parent }
}

func makeOptions(opts []Option) (options, error) {
	o := options{resolvConf: "/etc/resolv.conf", cgroupParent: "/kiln"}
	for _, opt := range opts {
		opt(&o)
	}
	if !path.IsAbs(o.cgroupParent) {
		return o, errors.New("runtime: cgroup parent must be an absolute path")
	}
	return o, nil
}
