package integration

import (
	"reflect"
	"strings"
	"testing"
)

// TestConfigAndHistory checks the image config and history against what
// BuildKit writes for the same Dockerfile.
func TestConfigAndHistory(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{
		"Dockerfile": `# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE} AS base
ARG V=1
ENV A=one B=${V:-x}
ENV PATH=/opt/bin:$PATH
LABEL org.example.name="kiln test" other=$A
WORKDIR app
WORKDIR sub
USER app:app
EXPOSE 8080 53/udp 9000-9001
VOLUME ["/data", "/cache"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O- http://localhost/ || exit 1
SHELL ["/bin/sh", "-ec"]
ONBUILD RUN echo triggered
MAINTAINER someone@example.com
CMD echo hi
ENTRYPOINT ["/bin/sh"]
`,
	})
	mustKiln(t, "build", "-t", "cfg:1", "--build-arg", "V=2", dir)
	cf, err := storedImage(t, "cfg:1").ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	wantEnv := []string{"PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=one", "B=2"}
	if !reflect.DeepEqual(c.Env, wantEnv) {
		t.Errorf("Env = %q, want %q", c.Env, wantEnv)
	}
	if c.WorkingDir != "/app/sub" || c.User != "app:app" || c.StopSignal != "SIGINT" {
		t.Errorf("WorkingDir %q User %q StopSignal %q", c.WorkingDir, c.User, c.StopSignal)
	}
	if c.Labels["org.example.name"] != "kiln test" || c.Labels["other"] != "one" {
		t.Errorf("Labels = %v", c.Labels)
	}
	for _, p := range []string{"8080/tcp", "53/udp", "9000/tcp", "9001/tcp"} {
		if _, ok := c.ExposedPorts[p]; !ok {
			t.Errorf("ExposedPorts %v lacks %s", c.ExposedPorts, p)
		}
	}
	if _, ok := c.Volumes["/data"]; !ok || len(c.Volumes) != 2 {
		t.Errorf("Volumes = %v", c.Volumes)
	}
	if c.Healthcheck == nil || !reflect.DeepEqual(c.Healthcheck.Test, []string{"CMD-SHELL", "wget -q -O- http://localhost/ || exit 1"}) ||
		c.Healthcheck.Retries != 2 || c.Healthcheck.Interval.Seconds() != 5 {
		t.Errorf("Healthcheck = %+v", c.Healthcheck)
	}
	if !reflect.DeepEqual(c.Shell, []string{"/bin/sh", "-ec"}) || !reflect.DeepEqual(c.OnBuild, []string{"RUN echo triggered"}) {
		t.Errorf("Shell %q OnBuild %q", c.Shell, c.OnBuild)
	}
	if !reflect.DeepEqual(c.Cmd, []string{"/bin/sh", "-ec", "echo hi"}) || !reflect.DeepEqual(c.Entrypoint, []string{"/bin/sh"}) {
		t.Errorf("Cmd %q Entrypoint %q", c.Cmd, c.Entrypoint)
	}
	if cf.Author != "someone@example.com" {
		t.Errorf("Author = %q", cf.Author)
	}
	var got []string
	for _, h := range cf.History[1:] { // [0] is busybox's own
		e := ""
		if h.EmptyLayer {
			e = " (empty)"
		}
		got = append(got, h.CreatedBy+e)
	}
	want := []string{
		"ARG V=2 (empty)",
		"ENV A=one B=2 (empty)",
		"ENV PATH=/opt/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin (empty)",
		"LABEL org.example.name=kiln test other=one (empty)",
		"WORKDIR /app",
		"WORKDIR /app/sub",
		"USER app:app (empty)",
		"EXPOSE [53/udp 8080/tcp 9000/tcp 9001/tcp] (empty)",
		"VOLUME [/data /cache] (empty)",
		"STOPSIGNAL SIGINT (empty)",
		"HEALTHCHECK {Test:[CMD-SHELL wget -q -O- http://localhost/ || exit 1] Interval:5s Timeout:0s StartPeriod:0s StartInterval:0s Retries:2} (empty)",
		"SHELL [/bin/sh -ec] (empty)",
		"MAINTAINER someone@example.com (empty)",
		`CMD ["/bin/sh" "-ec" "echo hi"] (empty)`,
		`ENTRYPOINT ["/bin/sh"] (empty)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	layers, _ := storedImage(t, "cfg:1").Layers()
	if len(layers) != 3 { // busybox + two WORKDIRs
		t.Errorf("%d layers, want 3", len(layers))
	}
	files := flatten(t, storedImage(t, "cfg:1"))
	if e := files["app/sub"]; e.typ != '5' || e.uid != 0 {
		t.Errorf("WORKDIR /app/sub: %+v", e)
	}
}

// TestEntrypointResetsInheritedCmd: ENTRYPOINT clears a Cmd inherited from
// the base, but not one set earlier in the same stage.
func TestEntrypointResetsInheritedCmd(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nENTRYPOINT [\"/bin/echo\"]\n"})
	mustKiln(t, "build", "-t", "ep:1", dir)
	cf, _ := storedImage(t, "ep:1").ConfigFile()
	if len(cf.Config.Cmd) != 0 {
		t.Errorf("Cmd = %q, want none", cf.Config.Cmd)
	}
}

// TestOnbuildTriggers: a build FROM an image with ONBUILD runs the triggers
// first, and the new image does not carry them on.
func TestOnbuildTriggers(t *testing.T) {
	needSetup(t)
	base := project(t, map[string]string{"Dockerfile": "FROM busybox\nONBUILD COPY marker /marker\nONBUILD RUN echo from-trigger > /t\n"})
	mustKiln(t, "build", "-t", "onbase:1", base)
	child := project(t, map[string]string{"Dockerfile": "FROM onbase:1\nRUN cat /marker /t > /both\n", "marker": "m\n"})
	mustKiln(t, "build", "-t", "onchild:1", child)
	img := storedImage(t, "onchild:1")
	if got := flatten(t, img)["both"].body; got != "m\nfrom-trigger\n" {
		t.Errorf("/both = %q", got)
	}
	cf, _ := img.ConfigFile()
	if len(cf.Config.OnBuild) != 0 {
		t.Errorf("OnBuild carried on: %q", cf.Config.OnBuild)
	}
}
