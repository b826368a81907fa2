package runtime

import (
	"errors"
	"fmt"
	"sync"

	mobyseccomp "github.com/moby/profiles/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultSeccomp returns docker's default seccomp profile for spec's
// capabilities (github.com/moby/profiles/seccomp, the version BuildKit
// uses), or nil if this kernel has no seccomp, as BuildKit does.
func defaultSeccomp(spec *specs.Spec) (*specs.LinuxSeccomp, error) {
	if !seccompEnabled() {
		return nil, nil
	}
	p, err := mobyseccomp.GetDefaultProfile(spec)
	if err != nil {
		return nil, fmt.Errorf("runtime: seccomp profile: %w", err)
	}
	return p, nil
}

// seccompEnabled reports whether the kernel supports seccomp filters, as
// containerd's seccomp.IsEnabled decides it.
var seccompEnabled = sync.OnceValue(func() bool {
	// Mode 2 with a nil filter: EFAULT means filters are supported,
	// EINVAL that they are not.
	err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, 0, 0, 0)
	return !errors.Is(err, unix.EINVAL)
})
