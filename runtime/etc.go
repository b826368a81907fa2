package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// prepareSpec returns a copy of spec for container id with the cgroup path
// set and read-only bind mounts of /etc/hosts, /etc/resolv.conf and
// /etc/hostname, whose files it writes into dir (outside the rootfs).
// Destinations already mounted by spec are left alone.
func prepareSpec(spec *specs.Spec, id, dir string, o options) (*specs.Spec, error) {
	if spec == nil || spec.Process == nil || spec.Root == nil {
		return nil, errors.New("runtime: spec needs a process and a root")
	}
	s := *spec
	s.Mounts = slices.Clone(spec.Mounts)
	linux := specs.Linux{}
	if spec.Linux != nil {
		linux = *spec.Linux
	}
	if linux.CgroupsPath == "" {
		linux.CgroupsPath = path.Join(o.cgroupParent, id)
	}
	s.Linux = &linux

	hostname := s.Hostname
	if hostname == "" {
		hostname = DefaultHostname
	}
	resolv, err := os.ReadFile(o.resolvConf)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("runtime: reading resolv.conf: %w", err)
	}
	files := []struct {
		dest, name string
		data       []byte
	}{
		{"/etc/hosts", "hosts", []byte("127.0.0.1\tlocalhost " + hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n")},
		{"/etc/resolv.conf", "resolv.conf", resolv},
		{"/etc/hostname", "hostname", []byte(hostname + "\n")},
	}
	for _, f := range files {
		if hasMount(s.Mounts, f.dest) {
			continue
		}
		src := filepath.Join(dir, f.name)
		if err := os.WriteFile(src, f.data, 0o644); err != nil {
			return nil, fmt.Errorf("runtime: writing %s: %w", f.dest, err)
		}
		s.Mounts = append(s.Mounts, specs.Mount{
			Destination: f.dest,
			Type:        "bind",
			Source:      src,
			Options:     []string{"rbind", "ro", "nosuid", "nodev", "noexec"},
		})
	}
	return &s, nil
}

func hasMount(mounts []specs.Mount, dest string) bool {
	for _, m := range mounts {
		if path.Clean(m.Destination) == dest {
			return true
		}
	}
	return false
}
