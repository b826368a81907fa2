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
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
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
	img, err := r.Resolve(context.Background(), "scratch")
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
	host := strings.Split(hostArch(), "/")[1]
	other := "s390x"
	if host == other {
		other = "ppc64le"
	}
	want := platformImage(t, host)
	lp.AppendImage(platformImage(t, other), layout.WithPlatform(v1.Platform{OS: "linux", Architecture: other}),
		layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "v1"}))
	lp.AppendImage(want, layout.WithPlatform(v1.Platform{OS: "linux", Architecture: host}),
		layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "v1"}))
	r, _, sn := newResolver(t, source.WithNamedContexts(map[string]string{
		"base": "oci-layout://" + dir + ":v1", "missing": "oci-layout://" + dir + ":nosuch"}))
	img, err := r.Resolve(context.Background(), "base")
	if err != nil {
		t.Fatal(err)
	}
	wantID, _ := want.ConfigName()
	if img.ID != wantID || img.Config.Architecture != host {
		t.Errorf("picked %s (%s), want %s", img.ID, img.Config.Architecture, wantID)
	}
	if len(img.Layers) != 1 || !sn.Exists(snapshot.LayerID(img.Layers[0].DiffID)) {
		t.Errorf("layer not extracted: %+v", img.Layers)
	}
	if _, err := r.Resolve(context.Background(), "missing"); err == nil {
		t.Error("a missing tag resolved")
	}
	if _, err := r.Resolve(context.Background(), "oci-layout://"+dir+":v1"); err == nil || !strings.Contains(err.Error(), "--build-context") {
		t.Errorf("oci-layout:// named directly: %v", err)
	}
}

func hostArch() string {
	img, _ := source.New(nil, nil).Resolve(context.Background(), "scratch")
	return img.Config.OS + "/" + img.Config.Architecture
}

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
	host, asked := countingRegistry(t)
	ref := host + "/base:1"
	img := platformImage(t, strings.Split(hostArch(), "/")[1])
	tag, _ := name.ParseReference(ref)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	rec := &progress.Recorder{}
	r, st, _ := newResolver(t, source.WithProgress(rec))
	got, err := r.Resolve(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	wantID, _ := img.ConfigName()
	if got.ID != wantID {
		t.Errorf("ID %s, want %s", got.ID, wantID)
	}
	if !strings.Contains(strings.Join(rec.Notes(), "\n"), "pulling "+ref+" layer") {
		t.Errorf("notes %v", rec.Notes())
	}
	full, _ := store.Normalize(ref)
	if _, err := st.Lookup(full); err != nil {
		t.Errorf("pulled image not kept by name: %v", err)
	}
	// a new resolver (a later build) finds it in the store without asking
	before := atomic.LoadInt32(asked)
	r2 := source.New(st, mustSnap(t, st))
	if _, err := r2.Resolve(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if atomic.LoadInt32(asked) != before {
		t.Error("a stored image was resolved against the registry")
	}
	// WithPull asks again
	r3 := source.New(st, mustSnap(t, st), source.WithPull())
	if _, err := r3.Resolve(context.Background(), ref); err != nil {
		t.Fatal(err)
	}
	if atomic.LoadInt32(asked) == before {
		t.Error("WithPull did not ask the registry")
	}
}

func TestResolveOncePerRef(t *testing.T) {
	host, asked := countingRegistry(t)
	ref := host + "/base:2"
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
			if _, err := r.Resolve(context.Background(), ref); err != nil {
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
		if _, err := r.Resolve(context.Background(), ref); err == nil {
			t.Errorf("%s resolved", ref)
		}
	}
}

func mustSnap(t *testing.T, st *store.Store) snapshot.Snapshotter {
	sn, err := snapshot.Open(st, snapshot.Native)
	if err != nil {
		t.Fatal(err)
	}
	return sn
}
