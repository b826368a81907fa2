package source_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

func newResolver(t *testing.T, opts ...source.Option) (*source.Resolver, *store.Store, snapshot.Snapshotter) {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sn, err := snapshot.Open(st, snapshot.Native)
	if err != nil {
		t.Fatal(err)
	}
	return source.New(st, sn, opts...), st, sn
}

// platformImage is a random one-layer image for os/arch.
func platformImage(t *testing.T, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestResolveScratch(t *testing.T) {
	r, _, _ := newResolver(t)
	img, err := r.Resolve(context.Background(), "scratch", host)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 0 || img.Config.Config.WorkingDir != "/" || img.Config.OS != "linux" {
		t.Errorf("scratch %+v", img.Config)
	}
}

func TestResolveOCILayoutPicksThePlatform(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	hostA := host.Architecture
	other := "s390x"
	if hostA == other {
		other = "ppc64le"
	}
	want := platformImage(t, hostA)
	lp.AppendImage(platformImage(t, other), layout.WithPlatform(v1.Platform{OS: "linux", Architecture: other}),
		layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "v1"}))
	lp.AppendImage(want, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: hostA}),
		layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "v1"}))
	r, _, sn := newResolver(t, source.WithNamedContexts(map[string]string{
		"base": "oci-layout://" + dir + ":v1", "missing": "oci-layout://" + dir + ":nosuch"}))
	img, err := r.Resolve(context.Background(), "base", host)
	if err != nil {
		t.Fatal(err)
	}
	wantID, _ := want.ConfigName()
	if img.ID != wantID || img.Config.Architecture != hostA {
		t.Errorf("picked %s (%s), want %s", img.ID, img.Config.Architecture, wantID)
	}
	if len(img.Layers) != 1 || img.Layers[0].Dir != "" || sn.Exists(snapshot.LayerID(img.Layers[0].DiffID)) {
		t.Errorf("layer extracted before a step needs it: %+v", img.Layers)
	}
	unpackAll(t, r, img)
	if !sn.Exists(snapshot.LayerID(img.Layers[0].DiffID)) {
		t.Errorf("layer not extracted: %+v", img.Layers)
	}
	if _, err := r.Resolve(context.Background(), "missing", host); err == nil {
		t.Error("a missing tag resolved")
	}
	if _, err := r.Resolve(context.Background(), "oci-layout://"+dir+":v1", host); err == nil || !strings.Contains(err.Error(), "--build-context") {
		t.Errorf("oci-layout:// named directly: %v", err)
	}
}

var host = dockerfile.HostPlatform()

func hostArch() string { return host.OS + "/" + host.Architecture }

// countingRegistry is an in-process registry that counts manifest requests.
func countingRegistry(t *testing.T) (string, *int32) {
	t.Helper()
	var n int32
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/") {
			atomic.AddInt32(&n, 1)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), &n
}

func TestResolveRegistryKeepsPulledImages(t *testing.T) {
	reg, asked := countingRegistry(t)
	ref := reg + "/base:1"
	img := platformImage(t, strings.Split(hostArch(), "/")[1])
	tag, _ := name.ParseReference(ref)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	rec := &progress.Recorder{}
	r, st, _ := newResolver(t, source.WithProgress(rec))
	got, err := r.Resolve(context.Background(), ref, host)
	if err != nil {
		t.Fatal(err)
	}
	wantID, _ := img.ConfigName()
	if got.ID != wantID {
		t.Errorf("ID %s, want %s", got.ID, wantID)
	}
	full, _ := store.Normalize(ref)
	if _, err := st.Lookup(full); err == nil {
		t.Error("an image whose layers were not pulled was named")
	}
	unpackAll(t, r, got)
	if !strings.Contains(strings.Join(rec.Notes(), "\n"), "pulling "+ref+" layer") {
		t.Errorf("notes %v", rec.Notes())
	}
	if _, err := st.Lookup(full); err != nil {
		t.Errorf("pulled image not kept by name: %v", err)
	}
	// a new resolver (a later build) finds it in the store without asking
	before := atomic.LoadInt32(asked)
	r2 := source.New(st, mustSnap(t, st))
	if _, err := r2.Resolve(context.Background(), ref, host); err != nil {
		t.Fatal(err)
	}
	if atomic.LoadInt32(asked) != before {
		t.Error("a stored image was resolved against the registry")
	}
	// WithPull asks again
	r3 := source.New(st, mustSnap(t, st), source.WithPull())
	if _, err := r3.Resolve(context.Background(), ref, host); err != nil {
		t.Fatal(err)
	}
	if atomic.LoadInt32(asked) == before {
		t.Error("WithPull did not ask the registry")
	}
}

func TestResolveOncePerRef(t *testing.T) {
	reg, asked := countingRegistry(t)
	ref := reg + "/base:2"
	tag, _ := name.ParseReference(ref)
	if err := remote.Write(tag, platformImage(t, strings.Split(hostArch(), "/")[1])); err != nil {
		t.Fatal(err)
	}
	before := atomic.LoadInt32(asked)
	r, _, _ := newResolver(t)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Resolve(context.Background(), ref, host); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := atomic.LoadInt32(asked) - before; n > 2 {
		t.Errorf("8 concurrent resolves made %d manifest requests", n)
	}
}

func TestResolveErrors(t *testing.T) {
	r, _, _ := newResolver(t)
	for _, ref := range []string{"UPPER/case", "127.0.0.1:1/none:1", "oci-layout:///nonexistent/dir"} {
		if _, err := r.Resolve(context.Background(), ref, host); err == nil {
			t.Errorf("%s resolved", ref)
		}
	}
}

// unpackAll extracts every layer of img, as a build step needing its files
// does.
func unpackAll(t *testing.T, r *source.Resolver, img *image.Image) {
	t.Helper()
	for i, l := range img.Layers {
		dir, err := r.Unpack(context.Background(), l)
		if err != nil {
			t.Fatal(err)
		}
		img.Layers[i].Dir = dir
	}
}

func mustSnap(t *testing.T, st *store.Store) snapshot.Snapshotter {
	sn, err := snapshot.Open(st, snapshot.Native)
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

// TestResolveIndexPerPlatform: an index in a registry gives each platform
// its own image; the store keeps the index by name with the manifests
// pulled so far, and resolves a platform it has without the registry.
func TestResolveIndexPerPlatform(t *testing.T) {
	reg, asked := countingRegistry(t)
	ref := reg + "/multi:1"
	amd, arm := platformImage(t, "amd64"), platformImage(t, "arm64")
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}}})
	tag, _ := name.ParseReference(ref)
	if err := remote.WriteIndex(tag, idx); err != nil {
		t.Fatal(err)
	}
	r, st, _ := newResolver(t)
	arm64, _ := dockerfile.ParsePlatform("linux/arm64")
	amd64, _ := dockerfile.ParsePlatform("linux/amd64")
	for _, c := range []struct {
		plat ocispecs.Platform
		want v1.Image
	}{{arm64, arm}, {amd64, amd}} {
		img, err := r.Resolve(context.Background(), ref, c.plat)
		if err != nil {
			t.Fatal(err)
		}
		unpackAll(t, r, img)
		if id, _ := c.want.ConfigName(); img.ID != id {
			t.Errorf("%s: got %s, want %s", dockerfile.FormatPlatform(c.plat), img.ID, id)
		}
	}
	full, _ := store.Normalize(ref)
	desc, err := st.Lookup(full)
	if err != nil || !desc.MediaType.IsIndex() {
		t.Fatalf("the store names %v (%v), want the index", desc, err)
	}
	before := atomic.LoadInt32(asked)
	r2 := source.New(st, mustSnap(t, st))
	if img, err := r2.Resolve(context.Background(), ref, arm64); err != nil || img.Config.Architecture != "arm64" {
		t.Errorf("arm64 from the store: %v %v", img, err)
	}
	if atomic.LoadInt32(asked) != before {
		t.Error("a platform the store has was resolved against the registry")
	}
	riscv, _ := dockerfile.ParsePlatform("linux/riscv64")
	if _, err := r2.Resolve(context.Background(), ref, riscv); err == nil || !strings.Contains(err.Error(), "no image for linux/riscv64") {
		t.Errorf("a platform the index lacks: %v", err)
	}
}
