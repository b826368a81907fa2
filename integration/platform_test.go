package integration

import (
	"archive/tar"
	"bytes"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/kiln-build/kiln/runtime"
)

// arm64Busybox is Debian's busybox-static for arm64 ($KILN_ARM64_BUSYBOX,
// default /var/cache/kiln-ci/busybox-arm64; .ci/run fetches it with
// apt-get download busybox-static:arm64). The test skips without it or
// without QEMU emulation of arm64.
func arm64Busybox(t *testing.T) string {
	t.Helper()
	p := os.Getenv("KILN_ARM64_BUSYBOX")
	if p == "" {
		p = "/var/cache/kiln-ci/busybox-arm64"
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("no arm64 busybox at %s (apt-get download busybox-static:arm64; dpkg -x; set KILN_ARM64_BUSYBOX)", p)
	}
	if err := runtime.CanRun("arm64"); err != nil {
		t.Skipf("no arm64 emulation: %v", err)
	}
	return p
}

// rootfsImage is an image of the directory dir for os/arch.
func rootfsImage(t *testing.T, dir, arch string) v1.Image {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		link, _ := os.Readlink(p)
		h, _ := tar.FileInfoHeader(fi, link)
		h.Name, h.Uid, h.Gid, h.Uname, h.Gname = rel, 0, 0, "", ""
		if fi.IsDir() {
			h.Name += "/"
		}
		tw.WriteHeader(h)
		if fi.Mode().IsRegular() {
			f, _ := os.Open(p)
			io.Copy(tw, f)
			f.Close()
		}
		return nil
	})
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, l)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// multiBusybox pushes a two-platform busybox index (linux/amd64 and
// linux/arm64) to an in-process registry and returns its reference.
func multiBusybox(t *testing.T) string {
	t.Helper()
	armBB := arm64Busybox(t)
	amdDir := bbRootfs(t)
	armDir := bbRootfs(t)
	b, err := os.ReadFile(armBB)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(armDir, "bin/busybox"), b, 0o755)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/busybox-multi:latest"
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: rootfsImage(t, amdDir, "amd64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: rootfsImage(t, armDir, "arm64"), Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	tag, _ := name.ParseReference(ref)
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestMultiPlatform: one build for linux/amd64 and linux/arm64 gives one
// image index: a FROM --platform=$BUILDPLATFORM builder runs natively and
// its steps that do not use TARGET* args run once for both; the final
// stage's RUN runs under QEMU for arm64; the index is pushed, archived,
// named in the store, and the files go to a directory per platform.
func TestMultiPlatform(t *testing.T) {
	needSetup(t)
	base := multiBusybox(t)
	reg := strings.Split(base, "/")[0]
	dir := project(t, map[string]string{"Dockerfile": `FROM --platform=$BUILDPLATFORM ` + base + ` AS builder
RUN echo "built on $(uname -m)" > /on
ARG TARGETARCH
RUN echo "for $TARGETARCH" > /for
FROM ` + base + `
COPY --from=builder /on /for /
RUN uname -m > /arch
`})
	out := t.TempDir()
	root := t.TempDir()
	r := kilnIn(t, root, nil, "build", "--progress=rawjson", "--platform", "linux/amd64,linux/arm64", "-t", reg+"/app:multi", "--push",
		"-o", "type=image", "-o", "type=oci,dest="+filepath.Join(out, "oci.tar"), "-o", "type=local,dest="+filepath.Join(out, "files"), dir)
	if r.code != 0 {
		t.Fatalf("multi-platform build: %s", r.stderr)
	}
	onRuns, forRuns := 0, 0
	for _, e := range events(r.stderr) {
		if e.Type == "step.done" && strings.Contains(e.Name, "built on") {
			onRuns++
		}
		if e.Type == "step.done" && strings.Contains(e.Name, "for $TARGETARCH") {
			forRuns++
		}
	}
	if onRuns != 1 || forRuns != 2 {
		t.Errorf("the shared builder step ran %d times (want 1), the TARGETARCH one %d (want 2)", onRuns, forRuns)
	}
	read := func(p string) string { b, _ := os.ReadFile(filepath.Join(out, "files", p)); return string(b) }
	for plat, want := range map[string][3]string{"linux_amd64": {"x86_64\n", "built on x86_64\n", "for amd64\n"},
		"linux_arm64": {"aarch64\n", "built on x86_64\n", "for arm64\n"}} {
		if got := [3]string{read(plat + "/arch"), read(plat + "/on"), read(plat + "/for")}; got != want {
			t.Errorf("%s: %q, want %q", plat, got, want)
		}
	}
	ref, _ := name.ParseReference(reg + "/app:multi")
	idx, err := remote.Index(ref)
	if err != nil {
		t.Fatalf("pushed index: %v", err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 2 || im.Manifests[0].Platform.Architecture != "amd64" || im.Manifests[1].Platform.Architecture != "arm64" {
		t.Errorf("pushed index %+v", im.Manifests)
	}
	arm, _ := idx.Image(im.Manifests[1].Digest)
	if cf, _ := arm.ConfigFile(); cf.Architecture != "arm64" {
		t.Errorf("arm64 image config says %s", cf.Architecture)
	}
	untar(t, filepath.Join(out, "oci.tar"), filepath.Join(out, "layout"))
	lp, err := layout.FromPath(filepath.Join(out, "layout"))
	if err != nil {
		t.Fatal(err)
	}
	top, _ := lp.ImageIndex()
	tm, _ := top.IndexManifest()
	if len(tm.Manifests) != 1 || !tm.Manifests[0].MediaType.IsIndex() {
		t.Fatalf("OCI archive index.json: %+v", tm.Manifests)
	}
	if images := kilnIn(t, root, nil, "images").stdout; !strings.Contains(images, "linux/amd64,linux/arm64") {
		t.Errorf("kiln images:\n%s", images)
	}
	// the build cache travels per platform: a fresh store runs nothing
	cacheDir := filepath.Join(t.TempDir(), "cache")
	if r := kilnIn(t, root, nil, "build", "--platform", "linux/amd64,linux/arm64", "--cache-to", "type=local,mode=max,dest="+cacheDir, dir); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r = kilnIn(t, t.TempDir(), nil, "build", "--progress=rawjson", "--platform", "linux/amd64,linux/arm64",
		"--cache-from", "type=local,src="+cacheDir, "-o", "type=local,dest="+filepath.Join(out, "again"), dir)
	if ran := ranSteps(r.stderr); r.code != 0 || len(ran) != 0 {
		t.Errorf("fresh store with the cache of both platforms ran %v (%d)\n%s", ran, r.code, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "again", "linux_arm64", "arch")); string(b) != "aarch64\n" {
		t.Errorf("arm64 from the cache: /arch = %q", b)
	}
	if r := kilnIn(t, root, nil, "build", "--platform", "linux/amd64,linux/arm64", "--load", dir); r.code != 1 ||
		!strings.Contains(r.stderr, "one platform") {
		t.Errorf("--load of two platforms: %d %s", r.code, r.stderr)
	}
	// one foreign platform: an arm64 image
	r = kilnIn(t, root, nil, "build", "--platform", "linux/arm64", "-t", "arm-only:1", dir)
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	if cf, _ := storedImageIn(t, root, "arm-only:1").ConfigFile(); cf.Architecture != "arm64" {
		t.Errorf("--platform linux/arm64 made a %s image", cf.Architecture)
	}
	if r := kilnIn(t, root, nil, "build", "--platform", "linux/s390x", dir); r.code != 1 || !strings.Contains(r.stderr, "no image for linux/s390x") {
		t.Errorf("a platform the base lacks: %d %s", r.code, r.stderr)
	}
}
