package runtime

import (
	"bufio"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// rootlessSpec adapts a prepared spec to a user namespace: there is no
// cgroup to create (so no device rules or cgroup mount), sysfs cannot be
// mounted for the host's network namespace (so /sys is a read-only bind),
// and devpts takes no gid that the namespace does not map.
func rootlessSpec(s *specs.Spec) {
	linux := *s.Linux
	linux.Resources = nil
	linux.CgroupsPath = ""
	s.Linux = &linux
	gid5 := idMapped("/proc/self/gid_map", 5)
	var mounts []specs.Mount
	for _, m := range s.Mounts {
		switch path.Clean(m.Destination) {
		case cgroupMountDest:
			continue
		case "/sys":
			if hostNetwork(s) {
				m = specs.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
			}
		case "/dev/pts":
			if !gid5 {
				m.Options = slices.DeleteFunc(slices.Clone(m.Options), func(o string) bool { return o == "gid=5" })
			}
		}
		mounts = append(mounts, m)
	}
	s.Mounts = mounts
}

// idMapped reports whether id is mapped in a uid_map or gid_map file.
func idMapped(file string, id uint64) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			continue
		}
		start, err1 := strconv.ParseUint(fields[0], 10, 64)
		n, err2 := strconv.ParseUint(fields[2], 10, 64)
		if err1 == nil && err2 == nil && id >= start && id < start+n {
			return true
		}
	}
	return false
}
