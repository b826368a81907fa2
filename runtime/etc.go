package runtime

import (
	"crypto/sha256"
	"encoding/hex"
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
// set and read-only bind mounts of /etc/resolv.conf and /etc/hosts, whose
// files it keeps in dir (outside the rootfs, see etcFile). Like BuildKit it
// puts them before the cgroup mount (after the other default mounts) and
// does not mount /etc/hostname. Destinations already mounted by spec are
// left alone.
func prepareSpec(spec *specs.Spec, id, dir string, o options) (*specs.Spec, error) {
	if spec == nil || spec.Process == nil || spec.Root == nil {
		return nil, errors.New("runtime: spec needs a process and a root")
	}
	s := *spec
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
	resolv, err := readResolvConf(o.resolvConf, hostNetwork(&s))
	if err != nil {
		return nil, err
	}
	files := []struct {
		dest, name string
		data       []byte
	}{
		{"/etc/resolv.conf", "resolv.conf", resolv},
		{"/etc/hosts", "hosts", []byte("127.0.0.1\tlocalhost " + hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
			spec.Annotations[hostsAnnotation])},
	}
	var etc []specs.Mount
	for _, f := range files {
		if hasMount(spec.Mounts, f.dest) {
			continue
		}
		src, err := etcFile(dir, f.name, f.data)
		if err != nil {
			return nil, fmt.Errorf("runtime: writing %s: %w", f.dest, err)
		}
		etc = append(etc, specs.Mount{
			Destination: f.dest,
			Type:        "bind",
			Source:      src,
			Options:     []string{"nosuid", "noexec", "nodev", "rbind", "ro"},
		})
	}
	at := slices.IndexFunc(spec.Mounts, func(m specs.Mount) bool { return path.Clean(m.Destination) == cgroupMountDest })
	if at < 0 {
		at = len(spec.Mounts)
	}
	s.Mounts = slices.Concat(spec.Mounts[:at], etc, spec.Mounts[at:])
	return &s, nil
}

// hostNetwork reports whether spec shares the host's network namespace.
func hostNetwork(spec *specs.Spec) bool {
	return spec.Linux == nil || !slices.ContainsFunc(spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
		return n.Type == specs.NetworkNamespace
	})
}

// readResolvConf returns the container's /etc/resolv.conf made from the
// host's file at path, or from the file BuildKit picks when path is ""
// (see WithResolvConf).
func readResolvConf(path string, hostNet bool) ([]byte, error) {
	name := path
	if name == "" {
		name = "/etc/resolv.conf"
	}
	data, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("runtime: reading resolv.conf: %w", err)
	}
	if path == "" && !hostNet && onlySystemdResolved(data) {
		if alt, err := os.ReadFile("/run/systemd/resolve/resolv.conf"); err == nil {
			data = alt
		}
	}
	return containerResolvConf(data, hostNet), nil
}

// etcFile returns the path of a file in dir that holds data, named after name
// and data's digest, and writes it if it is not there yet. A file is never
// changed once written (it appears by rename), so containers running at the
// same time can share it and later runs can reuse it: creating files costs
// about a millisecond each on some filesystems, a good part of a RUN step.
func etcFile(dir, name string, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	p := filepath.Join(dir, name+"-"+hex.EncodeToString(sum[:8]))
	if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && fi.Size() == int64(len(data)) {
		return p, nil
	}
	tmp, err := os.CreateTemp(dir, "."+name+"-")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // fails once renamed
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return "", err
	}
	return p, nil
}

func hasMount(mounts []specs.Mount, dest string) bool {
	for _, m := range mounts {
		if path.Clean(m.Destination) == dest {
			return true
		}
	}
	return false
}
