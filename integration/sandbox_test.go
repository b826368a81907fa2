package integration

import (
	"strings"
	"testing"
)

// TestRunSandboxEtcFiles: as under BuildKit, /etc/hosts and
// /etc/resolv.conf are read-only mounts that never reach a layer, while
// /etc/hostname is not mounted: the image's file (none in busybox) is what
// a RUN sees, and what it writes there is kept.
func TestRunSandboxEtcFiles(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": `FROM busybox
RUN test ! -e /etc/hostname && hostname > /etc/hostname && (echo x > /etc/hosts || echo x > /hosts-ro) && (echo x > /etc/resolv.conf || echo x > /resolv-ro)
RUN grep -q Seccomp:.2 /proc/self/status && echo 2 > /seccomp
`})
	mustKiln(t, "build", "-t", "sandbox:1", dir)
	f := flatten(t, storedImage(t, "sandbox:1"))
	if e, ok := f["etc/hostname"]; !ok || e.body != "buildkitsandbox\n" {
		t.Errorf("etc/hostname written by the RUN: present=%v %+v", ok, e)
	}
	for _, p := range []string{"hosts-ro", "resolv-ro", "seccomp"} {
		if _, ok := f[p]; !ok {
			t.Errorf("%s missing: the RUN could write the file or has no seccomp filter", p)
		}
	}
	for p := range f {
		if p == "etc/hosts" || p == "etc/resolv.conf" || strings.HasPrefix(p, "etc/.") {
			t.Errorf("%s from the RUN sandbox reached a layer", p)
		}
	}
}
