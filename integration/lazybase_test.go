package integration

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-build/kiln/store"
)

// blobLog sits in front of a registry and records the blobs it serves.
type blobLog struct {
	mu    sync.Mutex
	blobs map[string]int // digest → GETs
}

func (b *blobLog) start(t *testing.T, registryHost string) string {
	t.Helper()
	b.blobs = map[string]int{}
	target, _ := url.Parse("http://" + registryHost)
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := strings.Index(r.URL.Path, "/blobs/sha256:"); i >= 0 && r.Method == http.MethodGet {
			b.mu.Lock()
			b.blobs[r.URL.Path[i+len("/blobs/"):]]++
			b.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func (b *blobLog) reset() {
	b.mu.Lock()
	b.blobs = map[string]int{}
	b.mu.Unlock()
}

func (b *blobLog) got(digest string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.blobs[digest] > 0
}

// TestLazyBase: a fresh store whose every step hits a registry cache
// resolves the base image's manifest and config and pulls none of its
// layers when the image does not contain them; when it does, it fetches
// their blobs and extracts nothing. Both give the image the first store
// built, digest for digest.
func TestLazyBase(t *testing.T) {
	needSetup(t)
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry is not installed")
	}
	log := &blobLog{}
	host := log.start(t, startRegistry(t, bin))
	base := host + "/lib/busybox:1"
	mustKiln(t, "push", "busybox", base)
	baseImg := storedImage(t, "busybox")
	m, _ := baseImg.Manifest()
	cf, _ := baseImg.ConfigFile()

	for _, tc := range []struct {
		name, dockerfile string
		baseInImage      bool
	}{
		{"MultiStage", "FROM " + base + " AS builder\nRUN echo built > /out\nFROM scratch\nCOPY --from=builder /out /out\n", false},
		{"FromBase", "FROM " + base + "\nRUN echo built > /out\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := project(t, map[string]string{"Dockerfile": tc.dockerfile})
			cache := host + "/lib/cache:" + strings.ToLower(tc.name)
			a := t.TempDir()
			if r := kilnIn(t, a, nil, "build", "--cache-to", "type=registry,ref="+cache+",mode=max", "-t", "app:1", dir); r.code != 0 {
				t.Fatal(r.stderr)
			}
			want := manifestDigest(t, a, "app:1")

			log.reset()
			b := t.TempDir()
			r := kilnIn(t, b, nil, "build", "--progress=rawjson", "--cache-from", "type=registry,ref="+cache, "-t", "app:1", dir)
			if r.code != 0 {
				t.Fatal(r.stderr)
			}
			if ran := ranSteps(r.stderr); len(ran) != 0 {
				t.Errorf("steps ran on the fresh store: %v", ran)
			}
			for i, l := range m.Layers {
				if log.got(l.Digest.String()) != tc.baseInImage {
					t.Errorf("base layer %s pulled: %v, want %v", l.Digest, log.got(l.Digest.String()), tc.baseInImage)
				}
				snap := filepath.Join(b, "snapshots", cf.RootFS.DiffIDs[i].Hex)
				if _, err := os.Stat(snap); err == nil {
					t.Errorf("base layer %s extracted, though no step needed its files", l.Digest)
				}
			}
			if !log.got(m.Config.Digest.String()) {
				t.Error("the base's config was not read")
			}
			if got := manifestDigest(t, b, "app:1"); got != want {
				t.Errorf("image %s on the fresh store, %s on the first", got, want)
			}
			// the base is named in the store only once whole
			_, named := lookup(t, b, base)
			if named != tc.baseInImage {
				t.Errorf("base named in the store: %v, want %v", named, tc.baseInImage)
			}
		})
	}
}

func manifestDigest(t *testing.T, root, ref string) string {
	t.Helper()
	d, ok := lookup(t, root, ref)
	if !ok {
		t.Fatalf("no image %s in %s", ref, root)
	}
	return d
}

func lookup(t *testing.T, root, ref string) (string, bool) {
	t.Helper()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, _ := store.Normalize(ref)
	desc, err := st.Lookup(n)
	if err != nil {
		return "", false
	}
	return desc.Digest.String(), true
}
