package integration

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// countingProxy sits in front of a registry and counts the blob bytes it
// serves (what the builders pull).
type countingProxy struct {
	blobBytes atomic.Int64
}

func (c *countingProxy) start(t *testing.T, registryHost string) string {
	t.Helper()
	target, _ := url.Parse("http://" + registryHost)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodGet && strings.Contains(resp.Request.URL.Path, "/blobs/sha256:") {
			resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.blobBytes}
		}
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestFleetSharesOneCache: four stores ("pods") build the same project
// one after the other against one registry cache, each pushing the image
// and the cache: the first runs every step; the others run no RUN step
// and pull only the final image's layers.
func TestFleetSharesOneCache(t *testing.T) {
	needSetup(t)
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry is not installed")
	}
	proxy := &countingProxy{}
	host := proxy.start(t, startRegistry(t, bin))
	dir := project(t, map[string]string{"Dockerfile": cacheDockerfile, "src.txt": "fleet\n"})
	bb := saveBusybox(t)
	cache, app := host+"/team/cache:main", host+"/team/app:1"
	var finalLayers int64
	for pod := 1; pod <= 4; pod++ {
		store := t.TempDir()
		if r := kilnIn(t, store, nil, "load", "-i", bb); r.code != 0 {
			t.Fatal(r.stderr)
		}
		before := proxy.blobBytes.Load()
		r := kilnIn(t, store, nil, "build", "--progress=rawjson", "--cache-from", "type=registry,ref="+cache,
			"--cache-to", "type=registry,ref="+cache+",mode=max", "--push", "-t", app, dir)
		if r.code != 0 {
			t.Fatalf("pod %d: %s", pod, r.stderr)
		}
		pulled := proxy.blobBytes.Load() - before
		ran, cached, layers := 0, 0, 0
		for _, e := range events(r.stderr) {
			switch {
			case e.Type == "step.done" && strings.HasPrefix(e.Name, "RUN"):
				ran++
				layers++
			case e.Type == "step.done" && strings.HasPrefix(e.Name, "COPY"):
				layers++
			case e.Type == "step.cached":
				cached++
				layers++
			}
		}
		t.Logf("pod %d: %d/%d steps from the cache (%.0f%% hit rate), %d RUN steps ran, %d bytes pulled",
			pod, cached, layers, 100*float64(cached)/float64(layers), ran, pulled)
		if pod == 1 {
			if ran != 2 || cached != 0 {
				t.Errorf("pod 1 ran %d RUN steps, %d cached; want 2 and 0", ran, cached)
			}
			img := storedImageIn(t, store, app)
			m, _ := img.Manifest()
			for _, l := range m.Layers {
				finalLayers += l.Size
			}
			continue
		}
		if ran != 0 || cached != layers {
			t.Errorf("pod %d ran %d RUN steps (%d of %d cached), want every step from the cache", pod, ran, cached, layers)
		}
		if pulled > finalLayers+4096 { // the cache's config and manifest come on top
			t.Errorf("pod %d pulled %d blob bytes, want only the final image's layers (%d bytes)", pod, pulled, finalLayers)
		}
	}
}
