package runtime

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The defaults below are BuildKit's: containerd's default spec
// (containerd/v2 pkg/oci populateDefaultUnixSpec) as BuildKit's OCI worker
// changes it (executor/oci: no /run tmpfs, a read-only cgroup mount). The
// capabilities, masked and read-only paths equal docker's.

// DefaultCapabilities returns the capability set of a RUN step under BuildKit
// (and docker).
func DefaultCapabilities() []string {
	return []string{
		"CAP_CHOWN",
		"CAP_DAC_OVERRIDE",
		"CAP_FSETID",
		"CAP_FOWNER",
		"CAP_MKNOD",
		"CAP_NET_RAW",
		"CAP_SETGID",
		"CAP_SETUID",
		"CAP_SETFCAP",
		"CAP_SETPCAP",
		"CAP_NET_BIND_SERVICE",
		"CAP_SYS_CHROOT",
		"CAP_KILL",
		"CAP_AUDIT_WRITE",
	}
}

// defaultMounts are containerd's default mounts in its order, less /run.
func defaultMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
}

// cgroupMountDest is where BuildKit mounts the cgroup filesystem read-only,
// after /etc/resolv.conf and /etc/hosts (see prepareSpec).
const cgroupMountDest = "/sys/fs/cgroup"

func cgroupMount() specs.Mount {
	return specs.Mount{Destination: cgroupMountDest, Type: "cgroup", Source: "cgroup", Options: []string{"ro", "nosuid", "noexec", "nodev"}}
}

func defaultMaskedPaths() []string {
	return append([]string{
		"/proc/acpi",
		"/proc/asound",
		"/proc/interrupts",
		"/proc/kcore",
		"/proc/keys",
		"/proc/latency_stats",
		"/proc/timer_list",
		"/proc/timer_stats",
		"/proc/sched_debug",
		"/sys/firmware",
		"/sys/devices/virtual/powercap",
		"/proc/scsi",
	}, thermalThrottlePaths()...)
}

// thermalThrottlePaths are the per-CPU thermal_throttle dirs of this
// machine in CPU order, which containerd masks too.
var thermalThrottlePaths = sync.OnceValue(func() []string {
	paths, _ := filepath.Glob("/sys/devices/system/cpu/cpu[0-9]*/thermal_throttle")
	cpu := func(p string) int {
		n, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(filepath.Dir(p)), "cpu"))
		return n
	}
	slices.SortFunc(paths, func(a, b string) int { return cpu(a) - cpu(b) })
	return paths
})

func defaultReadonlyPaths() []string {
	return []string{
		"/proc/bus",
		"/proc/fs",
		"/proc/irq",
		"/proc/sys",
		"/proc/sysrq-trigger",
	}
}

// defaultDeviceRules denies every device, as containerd's default spec does;
// the runtime then allows its own defaults (null, zero, full, random,
// urandom, tty, ptmx, pts, net/tun and mknod of any device).
func defaultDeviceRules() []specs.LinuxDeviceCgroup {
	return []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}
}
