//go:build !linux

package runtime

import specs "github.com/opencontainers/runtime-spec/specs-go"

// defaultSeccomp returns nil: there are no Linux containers here.
func defaultSeccomp(*specs.Spec) (*specs.LinuxSeccomp, error) { return nil, nil }
