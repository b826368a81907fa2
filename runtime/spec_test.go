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

	host, err := NewSpec(Spec{Rootfs: "/r", Process: Process{Args: []string{"true"}, Cwd: "/"}})
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
	if count["/etc/resolv.conf"] != 1 || count["/etc/hosts"] != 1 || count["/etc/hostname"] != 1 {
		t.Errorf("etc mounts %v", count)
	}
	if p.Linux.CgroupsPath != "/kiln/id" || s.Linux.CgroupsPath != "" || len(s.Mounts) == len(p.Mounts) {
		t.Error("prepareSpec changed the caller's spec or missed the cgroup path")
	}
}
