package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cacheDockerfile = `FROM busybox AS deps
RUN echo deps > /deps.txt
FROM busybox AS builder
COPY src.txt /src.txt
RUN cat /src.txt > /built.txt && echo compiled >> /built.txt
FROM scratch
COPY --from=deps /deps.txt /
COPY --from=builder /built.txt /
`

// TestRegistryCacheRoundTrip: build on store A with --cache-to, then on an
// empty store B with --cache-from: no RUN executes on B, the result is the
// same, and with mode=max builder layers are pulled only when needed.
func TestRegistryCacheRoundTrip(t *testing.T) {
	needSetup(t)
	host := anyRegistry(t)
	ref := host + "/kiln/cache:main"
	dir := project(t, map[string]string{"Dockerfile": cacheDockerfile, "src.txt": "source v1\n"})

	// every store gets the same busybox (same manifest digest), as
	// machines pulling one base image from a registry do
	a := t.TempDir()
	if r := kilnIn(t, a, nil, "import", bbRootfs(t), "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	bbTar := filepath.Join(t.TempDir(), "busybox.tar")
	if r := kilnIn(t, a, nil, "save", "-o", bbTar, "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	freshStore := func() string {
		b := t.TempDir()
		if r := kilnIn(t, b, nil, "load", "-i", bbTar); r.code != 0 {
			t.Fatal(r.stderr)
		}
		return b
	}
	if r := kilnIn(t, a, nil, "build", "--cache-to", "type=registry,ref="+ref+",mode=max", "-t", "app:1", dir); r.code != 0 {
		t.Fatalf("build A: %s", r.stderr)
	}
	localDir := filepath.Join(t.TempDir(), "cache")
	if r := kilnIn(t, a, nil, "build", "--cache-to", "type=local,mode=max,dest="+localDir, "-t", "app:1", dir); r.code != 0 {
		t.Fatalf("build A local export: %s", r.stderr)
	}

	for _, from := range []string{"type=registry,ref=" + ref, "type=local,src=" + localDir} {
		b := freshStore()
		out := filepath.Join(t.TempDir(), "out")
		r := kilnIn(t, b, nil, "build", "--progress=rawjson", "--cache-from", from, "-o", out, dir)
		if r.code != 0 {
			t.Fatalf("build B (%s): %s", from, r.stderr)
		}
		if ran := ranSteps(r.stderr); len(ran) != 0 {
			t.Errorf("%s: steps ran on the fresh store: %v\n%s", from, ran, r.stderr)
		}
		got, _ := os.ReadFile(filepath.Join(out, "built.txt"))
		if string(got) != "source v1\ncompiled\n" {
			t.Errorf("%s: built.txt = %q", from, got)
		}
		if strings.Count(r.stderr, "pulling cached layer") != 2 {
			t.Errorf("%s: want exactly the 2 final layers pulled:\n%s", from, r.stderr)
		}
	}

	// a source change on B: the builder's COPY and RUN run, deps stays cached
	os.WriteFile(filepath.Join(dir, "src.txt"), []byte("source v2\n"), 0o644)
	b := freshStore()
	r := kilnIn(t, b, nil, "build", "--progress=rawjson", "--cache-from", "type=registry,ref="+ref, dir)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	if ran := strings.Join(ranSteps(r.stderr), ","); ran != "builder 2/3,builder 3/3,stage-2 3/3" {
		t.Errorf("after a source edit ran %s\n%s", ran, r.stderr)
	}
}
