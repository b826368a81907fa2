package integration

import (
	"os/exec"
	"strings"
	"testing"
)

// TestRunFilesystemChanges: files created, changed and deleted, a dir
// replaced by a file and back, an opaque dir, links — as seen by any OCI
// consumer flattening the exported layers.
func TestRunFilesystemChanges(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": `FROM busybox
RUN mkdir -p /d/keep /d/gone /opq && echo a > /d/file && echo 1 > /opq/old && ln -s /d/file /d/link && ln -s /nowhere /d/dangling && echo h > /d/hard1 && ln /d/hard1 /d/hard2
RUN rm -rf /d/gone /d/dangling && echo changed > /d/file && rm -rf /opq && mkdir /opq && echo 2 > /opq/new
RUN rm -rf /d/keep && echo now-a-file > /d/keep && rm /bin/vi
RUN rm /d/keep && mkdir /d/keep && touch /d/keep/inside
`})
	mustKiln(t, "build", "-t", "fs:1", dir)
	f := flatten(t, storedImage(t, "fs:1"))
	checks := []struct {
		path string
		ok   func(entry, bool) bool
	}{
		{"d/file", func(e entry, ok bool) bool { return ok && e.body == "changed\n" }},
		{"d/gone", func(_ entry, ok bool) bool { return !ok }},
		{"d/dangling", func(_ entry, ok bool) bool { return !ok }},
		{"bin/vi", func(_ entry, ok bool) bool { return !ok }},
		{"bin/ls", func(e entry, ok bool) bool { return ok && e.link == "/bin/busybox" }},
		{"d/link", func(e entry, ok bool) bool { return ok && e.typ == '2' && e.link == "/d/file" }},
		{"opq/old", func(_ entry, ok bool) bool { return !ok }},
		{"opq/new", func(e entry, ok bool) bool { return ok && e.body == "2\n" }},
		{"d/keep", func(e entry, ok bool) bool { return ok && e.typ == '5' }},
		{"d/keep/inside", func(_ entry, ok bool) bool { return ok }},
		{"d/hard2", func(e entry, ok bool) bool { return ok && (e.body == "h\n" || e.typ == '1') }},
	}
	for _, c := range checks {
		e, ok := f[c.path]
		if !c.ok(e, ok) {
			t.Errorf("%s: present=%v %+v", c.path, ok, e)
		}
	}
	for p := range f {
		if strings.Contains(p, ".wh.") {
			t.Errorf("whiteout leaked into the flattened image: %s", p)
		}
		if p == "etc/hosts" || p == "etc/resolv.conf" || p == "etc/hostname" {
			t.Errorf("%s from the RUN sandbox reached a layer", p)
		}
	}
}

// TestRunSemantics: USER, WORKDIR, ENV, ARG, SHELL and exec form as the
// process sees them.
func TestRunSemantics(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": `FROM busybox
ARG GREETING=hello
ENV WHO=world
WORKDIR /w
RUN echo "$GREETING $WHO $(pwd)" > /w/env.txt
USER app
RUN id > /tmp/id.txt && touch /tmp/owned
USER root
SHELL ["/bin/sh", "-c", "echo shell-used >> /w/shell.txt; sh -c \"$0\""]
RUN echo via-shell >> /w/shell.txt
RUN ["/bin/sh", "-c", "echo exec-form > /w/exec.txt"]
RUN <<EOF
echo heredoc > /w/heredoc.txt
EOF
`})
	mustKiln(t, "build", "-t", "sem:1", dir)
	img := storedImage(t, "sem:1")
	f := flatten(t, img)
	want := map[string]string{
		"w/env.txt":     "hello world /w\n",
		"tmp/id.txt":    "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n",
		"w/exec.txt":    "exec-form\n",
		"w/heredoc.txt": "heredoc\n",
	}
	for p, w := range want {
		if f[p].body != w {
			t.Errorf("%s = %q, want %q", p, f[p].body, w)
		}
	}
	if e := f["tmp/owned"]; e.uid != 1000 || e.gid != 1000 {
		t.Errorf("file made as USER app owned by %d:%d", e.uid, e.gid)
	}
	if !strings.Contains(f["w/shell.txt"].body, "shell-used") {
		t.Errorf("SHELL not used: %q", f["w/shell.txt"].body)
	}
	cf, _ := img.ConfigFile()
	for _, e := range cf.Config.Env {
		if strings.HasPrefix(e, "GREETING=") {
			t.Errorf("ARG leaked into the config Env: %s", e)
		}
	}
	var runs []string
	for _, h := range cf.History {
		if strings.HasPrefix(h.CreatedBy, "RUN ") {
			runs = append(runs, h.CreatedBy)
		}
	}
	if len(runs) == 0 || runs[0] != `RUN |1 GREETING=hello /bin/sh -c echo "$GREETING $WHO $(pwd)" > /w/env.txt # buildkit` {
		t.Errorf("RUN history: %q", runs)
	}
}

// TestRunNetworkNone: --network=none leaves only loopback.
func TestRunNetworkNone(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN --network=none ls /sys/class/net > /none.txt\nRUN ls /sys/class/net > /host.txt\n"})
	mustKiln(t, "build", "-t", "net:1", dir)
	f := flatten(t, storedImage(t, "net:1"))
	if f["none.txt"].body != "lo\n" {
		t.Errorf("network none sees %q", f["none.txt"].body)
	}
	if f["host.txt"].body == "lo\n" {
		t.Errorf("default network should be the host's, sees only %q", f["host.txt"].body)
	}
}

// TestRunFailure: a failing RUN names the line, the command and the exit
// code, shows the output's tail, and tags nothing.
func TestRunFailure(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo ok\nRUN echo about to fail && exit 3\n"})
	r := kiln(t, "build", "-t", "fail:1", dir)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	for _, want := range []string{"Dockerfile:3:", "exit code: 3", "about to fail"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("error lacks %q:\n%s", want, r.stderr)
		}
	}
	if images := mustKiln(t, "images").stdout; strings.Contains(images, "fail ") {
		t.Errorf("failed build tagged an image:\n%s", images)
	}
}

// TestRunNoShell: RUN on scratch fails clearly.
func TestRunNoShell(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": "FROM scratch\nRUN echo hi\n"})
	r := kiln(t, "build", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "Dockerfile:2:") || !strings.Contains(r.stderr, "/bin/sh") {
		t.Errorf("exit %d:\n%s", r.code, r.stderr)
	}
}

// TestRunExternalRuntime: --runtime runc runs RUN steps through the runc
// binary on a bundle, with the same result.
func TestRunExternalRuntime(t *testing.T) {
	needSetup(t)
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc not installed (apt-get install runc)")
	}
	dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nUSER app\nRUN id -u > /tmp/uid && hostname > /tmp/host\n"})
	mustKiln(t, "build", "--no-cache", "--runtime", "runc", "-t", "runc:1", dir)
	f := flatten(t, storedImage(t, "runc:1"))
	if f["tmp/uid"].body != "1000\n" || f["tmp/host"].body != "buildkitsandbox\n" {
		t.Errorf("uid %q host %q", f["tmp/uid"].body, f["tmp/host"].body)
	}
}
