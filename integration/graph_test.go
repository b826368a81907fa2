package integration

import (
	"strings"
	"testing"
)

// TestStageGraph: named stages (any case), numeric refs, FROM <stage>,
// COPY --from=<image>, --target, and unneeded stages never run.
func TestStageGraph(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": `ARG TAG=latest
FROM busybox:${TAG} AS Base
RUN echo base > /base.txt
ARG TAG
RUN echo "tag=$TAG" > /tag.txt

FROM busybox AS unused
RUN echo never-ran && exit 1

FROM base AS mid
RUN echo mid > /mid.txt

FROM scratch AS final
COPY --from=BASE /base.txt /from-name.txt
COPY --from=0 /tag.txt /from-index.txt
COPY --from=mid /mid.txt /base.txt /
COPY --from=busybox:latest /bin/busybox /busybox
`})
	r := mustKiln(t, "build", "-t", "graph:1", dir)
	if !strings.Contains(r.stderr, "[unused] skipped") || strings.Contains(r.stderr, "never-ran") {
		t.Errorf("stage unused should be skipped:\n%s", r.stderr)
	}
	f := flatten(t, storedImage(t, "graph:1"))
	for p, want := range map[string]string{"from-name.txt": "base\n", "from-index.txt": "tag=latest\n", "mid.txt": "mid\n", "base.txt": "base\n"} {
		if f[p].body != want {
			t.Errorf("%s = %q, want %q", p, f[p].body, want)
		}
	}
	if _, ok := f["busybox"]; !ok {
		t.Error("COPY --from=<image> missing")
	}
	layers, _ := storedImage(t, "graph:1").Layers()
	if len(layers) != 4 {
		t.Errorf("final image has %d layers, want 4 (one per COPY)", len(layers))
	}

	r = mustKiln(t, "build", "-t", "graph:mid", "--target", "MID", dir)
	if strings.Contains(r.stderr, "[final 1/") {
		t.Errorf("--target mid ran the final stage:\n%s", r.stderr)
	}
	if _, ok := flatten(t, storedImage(t, "graph:mid"))["mid.txt"]; !ok {
		t.Error("--target mid image lacks /mid.txt")
	}
}

// TestArgScoping: global ARGs in FROM, re-declared in a stage, build-arg
// overrides, ARGs not visible without declaration, and a changed build arg.
func TestArgScoping(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": `ARG G=global
ARG UNSET
FROM busybox
RUN echo "before=[$G]" > /before.txt
ARG G
ARG L=local-$G
ARG UNSET
RUN echo "G=$G L=$L UNSET=${UNSET:-none} P=${TARGETARCH:+set}" > /args.txt
ARG TARGETARCH
RUN echo "arch=$TARGETARCH" > /arch.txt
`})
	mustKiln(t, "build", "-t", "args:1", dir)
	f := flatten(t, storedImage(t, "args:1"))
	if f["before.txt"].body != "before=[]\n" {
		t.Errorf("global ARG visible before declaration: %q", f["before.txt"].body)
	}
	if f["args.txt"].body != "G=global L=local-global UNSET=none P=\n" {
		t.Errorf("args.txt = %q", f["args.txt"].body)
	}
	if !strings.HasPrefix(f["arch.txt"].body, "arch=") || f["arch.txt"].body == "arch=\n" {
		t.Errorf("arch.txt = %q", f["arch.txt"].body)
	}
	mustKiln(t, "build", "-t", "args:2", "--build-arg", "G=over", "--build-arg", "L=direct", dir)
	f = flatten(t, storedImage(t, "args:2"))
	if f["args.txt"].body != "G=over L=direct UNSET=none P=\n" {
		t.Errorf("with build args: %q", f["args.txt"].body)
	}
}
