package plan

import (
	"strings"
	"testing"

	"github.com/kiln-build/kiln/dockerfile"
)

func mustPlan(t *testing.T, src string, opts Options) (*Plan, error) {
	t.Helper()
	f, err := dockerfile.Parse("Dockerfile", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	return New(f, opts)
}

func refs(ss []*Stage) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Ref())
	}
	return strings.Join(out, ",")
}

func TestPlanOrderAndPruning(t *testing.T) {
	src := `ARG IMG=busybox
FROM ${IMG} AS deps
FROM golang AS Builder
COPY --from=DEPS /x /x
FROM busybox AS unrelated
FROM builder AS test
FROM scratch
COPY --from=1 /app /app
COPY --from=alpine:3 /etc/ssl /etc/ssl
`
	cases := []struct {
		target, order, skipped string
	}{
		{"", "deps,builder,stage-4", "unrelated,test"},
		{"test", "deps,builder,test", "unrelated,stage-4"},
		{"DEPS", "deps", "builder,unrelated,test,stage-4"},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			p, err := mustPlan(t, src, Options{Target: c.target})
			if err != nil {
				t.Fatal(err)
			}
			if got := refs(p.Order); got != c.order {
				t.Errorf("order %s, want %s", got, c.order)
			}
			if got := refs(p.Skipped); got != c.skipped {
				t.Errorf("skipped %s, want %s", got, c.skipped)
			}
		})
	}
	p, _ := mustPlan(t, src, Options{})
	if p.Stages[0].Base != "busybox" || p.Stages[4].Images[0] != "alpine:3" {
		t.Errorf("base %q images %v", p.Stages[0].Base, p.Stages[4].Images)
	}
}

func TestPlanGlobalArgs(t *testing.T) {
	src := "ARG REG=docker.io\nARG NAME=${REG}/library/busybox\nARG TAG\nFROM ${NAME}:${TAG:-latest}\n"
	p, err := mustPlan(t, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Stages[0].Base != "docker.io/library/busybox:latest" {
		t.Errorf("base %q", p.Stages[0].Base)
	}
	if _, ok := p.Global["TAG"]; ok {
		t.Error("an ARG without default or build-arg must stay undefined")
	}
	p, _ = mustPlan(t, src, Options{BuildArgs: map[string]string{"TAG": "1.36", "REG": "127.0.0.1:5000"}})
	if p.Stages[0].Base != "127.0.0.1:5000/library/busybox:1.36" {
		t.Errorf("with build args: %q", p.Stages[0].Base)
	}
	if p.Global["TARGETOS"] != "linux" || p.Global["TARGETPLATFORM"] == "" {
		t.Errorf("automatic platform args missing: %v", p.Global)
	}
}

func TestPlanHostPlatform(t *testing.T) {
	for _, src := range []string{"FROM --platform=$BUILDPLATFORM a\n", "FROM --platform=${TARGETPLATFORM} a AS b\n"} {
		if _, err := mustPlan(t, src, Options{}); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	cases := []struct{ name, src, target, want string }{
		{"cycle", "FROM a AS x\nCOPY --from=y / /\nFROM b AS y\nCOPY --from=x / /\n", "", "needs to be defined before current stage"},
		{"self", "FROM a AS x\nCOPY --from=x / /\n", "", "copies from itself"},
		{"unknown target", "FROM a AS x\n", "y", `stage "y" not found`},
		{"bad index", "FROM a\nCOPY --from=3 / /\n", "", "invalid stage index 3"},
		{"variable from", "FROM a\nCOPY --from=${X} / /\n", "", "variable expansion is not supported for --from"},
		{"blank base", "ARG E\nFROM ${E}\n", "", "should not be blank"},
		{"bad platform", "FROM --platform=linux//x a\n", "", "invalid platform"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := mustPlan(t, c.src, Options{Target: c.target})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}

// TestPlatforms: the platform ARGs of a target platform, and each stage's
// platform (FROM --platform=$BUILDPLATFORM runs on the host).
func TestPlatforms(t *testing.T) {
	src := "ARG TARGETARCH\nFROM --platform=$BUILDPLATFORM golang AS build\nFROM --platform=linux/arm/v7 busybox AS arm\nFROM scratch\nCOPY --from=build /x /x\nCOPY --from=arm /y /y\n"
	f, err := dockerfile.Parse("Dockerfile", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	target, _ := dockerfile.ParsePlatform("linux/arm64")
	p, err := New(f, Options{Platform: target})
	if err != nil {
		t.Fatal(err)
	}
	host := dockerfile.FormatPlatform(dockerfile.HostPlatform())
	want := map[string]string{"TARGETPLATFORM": "linux/arm64", "TARGETARCH": "arm64", "TARGETOS": "linux",
		"TARGETVARIANT": "", "BUILDPLATFORM": host}
	for k, v := range want {
		if p.Global[k] != v {
			t.Errorf("%s = %q, want %q", k, p.Global[k], v)
		}
	}
	got := []string{dockerfile.FormatPlatform(p.Stages[0].Platform), dockerfile.FormatPlatform(p.Stages[1].Platform),
		dockerfile.FormatPlatform(p.Stages[2].Platform)}
	if got[0] != host || got[1] != "linux/arm/v7" || got[2] != "linux/arm64" {
		t.Errorf("stage platforms %v", got)
	}
}

func TestReads(t *testing.T) {
	src := `FROM golang AS builder
FROM builder AS child
FROM golang AS tools
FROM scratch AS unused
COPY --from=tools / /
FROM scratch
COPY --from=builder /src/app /go/bin/*.so /app/
COPY --from=tools /usr/${BIN}/x /x
RUN --mount=from=builder,source=/etc/ssl,target=/ssl --mount=type=bind,from=tools,target=/t true
`
	p, err := mustPlan(t, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		stage string
		paths string
		whole bool
	}{
		{"builder", "/src/app,/go/bin,/etc/ssl", false},
		{"tools", "/usr,/", false}, // the unused stage's COPY / / does not count
	} {
		paths, whole := p.Reads(p.StageByRef(tt.stage))
		if strings.Join(paths, ",") != tt.paths || whole != tt.whole {
			t.Errorf("%s: reads %v whole %v, want %s %v", tt.stage, paths, whole, tt.paths, tt.whole)
		}
	}
	p, err = mustPlan(t, src, Options{Target: "child"})
	if err != nil {
		t.Fatal(err)
	}
	if _, whole := p.Reads(p.StageByRef("builder")); !whole {
		t.Error("FROM builder does not read all of builder")
	}
}

func TestReadsOfOnbuildTriggers(t *testing.T) {
	src := `FROM golang AS builder
FROM scratch AS base
ONBUILD COPY --from=builder /root/.cache /c
FROM base
COPY --from=builder /app /app
`
	p, err := mustPlan(t, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := p.Reads(p.StageByRef("builder"))
	if strings.Join(paths, ",") != "/root/.cache,/app" {
		t.Errorf("reads %v, want the trigger's and the COPY's", paths)
	}
}
