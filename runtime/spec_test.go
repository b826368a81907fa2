package runtime

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestNewSpec(t *testing.T) {
	extra := specs.Mount{Destination: "/etc/resolv.conf", Type: "bind", Source: "/x", Options: []string{"rbind", "ro"}}
	s, err := NewSpec(Spec{
		Rootfs:  "/r",
		Process: Process{Args: []string{"/bin/sh", "-c", "true"}, Cwd: "/w", UID: 1, GID: 2, AdditionalGids: []uint32{3}},
		Network: NetworkNone,
		Mounts:  []specs.Mount{extra},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Root.Path != "/r" || s.Process.Cwd != "/w" || s.Process.User.UID != 1 || s.Process.User.GID != 2 ||
		!slices.Equal(s.Process.User.AdditionalGids, []uint32{3}) {
		t.Errorf("process not carried over: %+v", s.Process)
	}
	if s.Hostname != DefaultHostname {
		t.Errorf("hostname %q, want %q", s.Hostname, DefaultHostname)
	}
	var ns []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		ns = append(ns, n.Type)
	}
	if want := []specs.LinuxNamespaceType{"mount", "pid", "uts", "ipc", "network"}; !slices.Equal(ns, want) {
		t.Errorf("namespaces %v, want %v", ns, want)
	}
	if got := s.Mounts[len(s.Mounts)-1]; got.Destination != extra.Destination {
		t.Errorf("extra mount not last: %+v", got)
	}
	if !slices.Equal(s.Process.Capabilities.Bounding, DefaultCapabilities()) || len(s.Process.Capabilities.Inheritable) != 0 {
		t.Errorf("capabilities %+v", s.Process.Capabilities)
	}
	if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
		t.Errorf("masked %v, read-only %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
	}

	host, err := NewSpec(Spec{Rootfs: "/r", Process: Process{Args: []string{"true"}, Cwd: "/"}, Network: NetworkHost})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range host.Linux.Namespaces {
		if n.Type == specs.NetworkNamespace {
			t.Error("NetworkHost has a network namespace")
		}
	}
}

func TestNewSpecInvalid(t *testing.T) {
	ok := Spec{Rootfs: "/r", Process: Process{Args: []string{"true"}, Cwd: "/"}}
	tests := map[string]func(*Spec){
		"relative rootfs": func(s *Spec) { s.Rootfs = "r" },
		"no args":         func(s *Spec) { s.Process.Args = nil },
		"relative cwd":    func(s *Spec) { s.Process.Cwd = "w" },
		"bad network":     func(s *Spec) { s.Network = 7 },
		"relative mount":  func(s *Spec) { s.Mounts = []specs.Mount{{Destination: "etc"}} },
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			s := ok
			mod(&s)
			if _, err := NewSpec(s); err == nil {
				t.Error("NewSpec accepted an invalid spec")
			}
		})
	}
}

func TestPrepareSpecKeepsCallerMounts(t *testing.T) {
	s, err := NewSpec(Spec{Rootfs: "/r", Process: Process{Args: []string{"true"}, Cwd: "/"},
		Mounts: []specs.Mount{{Destination: "/etc/resolv.conf", Type: "bind", Source: "/mine"}}})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := makeOptions(nil)
	p, err := prepareSpec(s, "id", t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range p.Mounts {
		count[m.Destination]++
	}
	if count["/etc/resolv.conf"] != 1 || count["/etc/hosts"] != 1 || count["/etc/hostname"] != 0 {
		t.Errorf("etc mounts %v", count)
	}
	if p.Linux.CgroupsPath != "/kiln/id" || s.Linux.CgroupsPath != "" || len(s.Mounts) == len(p.Mounts) {
		t.Error("prepareSpec changed the caller's spec or missed the cgroup path")
	}
}

func TestNewSpecNetwork(t *testing.T) {
	tests := []struct {
		network    Network
		netns      bool
		annotation string
	}{
		{NetworkDefault, true, networkSlirp4netns},
		{NetworkHost, false, ""},
		{NetworkNone, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.network.String(), func(t *testing.T) {
			s, err := NewSpec(Spec{Rootfs: "/r", Process: Process{Args: []string{"true"}, Cwd: "/"}, Network: tt.network})
			if err != nil {
				t.Fatal(err)
			}
			if got := !hostNetwork(s); got != tt.netns {
				t.Errorf("own network namespace %v, want %v", got, tt.netns)
			}
			if got := s.Annotations[networkAnnotation]; got != tt.annotation {
				t.Errorf("annotation %q, want %q", got, tt.annotation)
			}
		})
	}
	if got := Network(0).String(); got != "default" {
		t.Errorf("zero Network is %q, want default", got)
	}
}

// TestNewSpecBuildKitDefaults checks the parts of the spec that BuildKit's
// (containerd's) default spec fixes.
func TestNewSpecBuildKitDefaults(t *testing.T) {
	s, err := NewSpec(Spec{Rootfs: "/r", Process: Process{Args: []string{"true"}, Cwd: "/"},
		Mounts: []specs.Mount{{Destination: "/cache", Type: "bind", Source: "/c"}}})
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	want := []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup", "/cache"}
	if !slices.Equal(dests, want) {
		t.Errorf("mounts %q, want %q", dests, want)
	}
	if s.Process.NoNewPrivileges {
		t.Error("no_new_privileges is on; BuildKit leaves it off")
	}
	if d := s.Linux.Resources.Devices; len(d) != 1 || d[0].Allow || d[0].Access != "rwm" || d[0].Type != "" {
		t.Errorf("device rules %+v, want only deny-all", d)
	}
	for _, p := range []string{"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
		"/sys/devices/virtual/powercap", "/proc/scsi"} {
		if !slices.Contains(s.Linux.MaskedPaths, p) {
			t.Errorf("%s not masked", p)
		}
	}
}

func TestPrepareSpecEtcMounts(t *testing.T) {
	s, err := NewSpec(Spec{Rootfs: "/r", Process: Process{Args: []string{"true"}, Cwd: "/"},
		Mounts: []specs.Mount{{Destination: "/cache", Type: "bind", Source: "/c"}}})
	if err != nil {
		t.Fatal(err)
	}
	o, _ := makeOptions([]Option{WithResolvConf(t.TempDir() + "/missing")})
	p, err := prepareSpec(s, "id", t.TempDir(), o)
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, m := range p.Mounts {
		dests = append(dests, m.Destination)
	}
	// BuildKit's order: the etc files after /sys, before the cgroup mount.
	want := []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys",
		"/etc/resolv.conf", "/etc/hosts", "/sys/fs/cgroup", "/cache"}
	if !slices.Equal(dests, want) {
		t.Errorf("mounts %q, want %q", dests, want)
	}
	if opts := p.Mounts[6].Options; !slices.Equal(opts, []string{"nosuid", "noexec", "nodev", "rbind", "ro"}) {
		t.Errorf("resolv.conf mount options %q", opts)
	}
}

func TestContainerResolvConf(t *testing.T) {
	const defaults = "nameserver 8.8.8.8\nnameserver 8.8.4.4\nnameserver 2001:4860:4860::8888\nnameserver 2001:4860:4860::8844\n"
	tests := []struct {
		name, host  string
		hostNetwork bool
		want        string
	}{
		{"plain", "nameserver 192.0.2.53\n", false, "nameserver 192.0.2.53\n"},
		{"loopback dropped", "nameserver 127.0.0.1\nnameserver 192.0.2.53\nnameserver ::1\n", false, "nameserver 192.0.2.53\n"},
		{"loopback kept on host network", "nameserver 127.0.0.53\n", true, "nameserver 127.0.0.53\n"},
		{"only loopback", "nameserver 127.0.0.53\n", false, defaults},
		{"empty", "", false, defaults},
		{"empty on host network", "", true, defaults},
		{"ipv6 kept", "nameserver 2001:db8::1\n", false, "nameserver 2001:db8::1\n"},
		{
			"rendered like BuildKit",
			"# generated\n\ndomain a.example\nnameserver 192.0.2.53\n; x\noptions ndots:2\nsearch b.example c.example\noptions edns0\nsortlist 192.0.2.0/24\nnameserver bad\n",
			false,
			"nameserver 192.0.2.53\nsearch b.example c.example\noptions ndots:2 edns0\nsortlist 192.0.2.0/24\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(containerResolvConf([]byte(tt.host), tt.hostNetwork)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewSpecNoProcessSandbox(t *testing.T) {
	s, err := NewSpec(Spec{Rootfs: "/r", Process: Process{Args: []string{"true"}, Cwd: "/"}, NoProcessSandbox: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range s.Linux.Namespaces {
		if n.Type == specs.PIDNamespace {
			t.Error("a pid namespace without the process sandbox")
		}
	}
	found := false
	for _, m := range s.Mounts {
		if m.Destination == "/proc" {
			found = true
			if m.Type != "bind" || m.Source != "/proc" || !slices.Contains(m.Options, "rbind") {
				t.Errorf("/proc mount %+v, want the caller's bound in", m)
			}
		}
	}
	if !found || s.Linux.Seccomp == nil || len(s.Linux.MaskedPaths) == 0 {
		t.Errorf("/proc %v, seccomp %v, masked %v: the rest of the sandbox stays", found, s.Linux.Seccomp != nil, s.Linux.MaskedPaths)
	}
}
