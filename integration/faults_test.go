package integration

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/kiln-build/kiln/internal/cli"
)

// faultRegistry starts docker-registry, pushes a two-layer image to it
// (busybox + one RUN) and puts a fault proxy in front. It returns the
// proxy, the image's name through the proxy, and the image's manifest.
func faultRegistry(t *testing.T) (*faultProxy, string, *v1.Manifest) {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry not installed (apt-get install docker-registry)")
	}
	host := startRegistry(t, bin)
	ref := host + "/kiln/faults:1"
	mustKiln(t, "build", "-t", ref, "--push", project(t, map[string]string{
		"Dockerfile": "FROM busybox\nRUN echo faults > /f.txt\n"}))
	r, _ := name.ParseReference(ref)
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	p, phost := startFaultProxy(t, host)
	return p, phost + "/kiln/faults:1", m
}

// biggest is the digest of the manifest's largest layer (busybox's).
func biggest(m *v1.Manifest) v1.Hash {
	best := m.Layers[0]
	for _, l := range m.Layers {
		if l.Size > best.Size {
			best = l
		}
	}
	return best.Digest
}

// TestRegistryFaults: pulls through a proxy that fails requests. Transient
// faults (a 500, a reset, a body cut short, a blob corrupted once) are
// retried and the build succeeds; a blob corrupt every time fails with a
// digest error and nothing of it is stored.
func TestRegistryFaults(t *testing.T) {
	needSetup(t)
	p, ref, m := faultRegistry(t)
	layer, config := biggest(m).String(), m.Config.Digest.String()
	dir := project(t, map[string]string{"Dockerfile": "FROM " + ref + "\nRUN cat /f.txt > /g.txt\n"})
	for _, tt := range []struct {
		name    string
		fault   fault
		wantErr string // "" = the build succeeds
	}{
		{"ManifestServerError", fault{match: "/manifests/", kind: "500", times: 1}, ""},
		{"LayerServerErrors", fault{match: layer, kind: "500", times: 2}, ""},
		{"ManifestCut", fault{match: "/manifests/", kind: "cut", times: 1}, ""},
		{"ConfigCut", fault{match: config, kind: "cut", times: 1}, ""},
		{"LayerReset", fault{match: layer, kind: "reset", times: 1}, ""},
		{"LayerCut", fault{match: layer, kind: "cut", times: 1}, ""},
		{"LayerCutTwice", fault{match: layer, kind: "cut", times: 2}, ""},
		{"LayerCorruptOnce", fault{match: layer, kind: "corrupt", times: 1}, ""},
		{"ConfigCorrupt", fault{match: config, kind: "corrupt"}, "digest"},
		{"LayerCorrupt", fault{match: layer, kind: "corrupt"}, "digest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p.set(tt.fault)
			root, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
			r := kilnIn(t, root, nil, "build", "-o", out, dir)
			fired, gets := p.counts(tt.fault.kind, tt.fault.match)
			if fired == 0 {
				t.Fatalf("the fault never fired (%d GETs)", gets)
			}
			if tt.wantErr == "" {
				if r.code != 0 {
					t.Fatalf("build failed after %d %s faults: %s", fired, tt.fault.kind, r.stderr)
				}
				if b, _ := os.ReadFile(filepath.Join(out, "g.txt")); string(b) != "faults\n" {
					t.Errorf("g.txt = %q", b)
				}
				return
			}
			if r.code == 0 || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d, want a failure saying %q:\n%s", r.code, tt.wantErr, r.stderr)
			}
			if gets < 2 {
				t.Errorf("the corrupt blob was fetched %d times, want it refetched", gets)
			}
			d := strings.TrimPrefix(tt.fault.match, "sha256:")
			if _, err := os.Stat(filepath.Join(root, "blobs", "sha256", d)); err == nil {
				t.Errorf("the corrupt blob %s is in the store", d)
			}
			if left := storeLeftovers(t, root); len(left) > 0 {
				t.Errorf("left in the store's tmp: %v", left)
			}
		})
	}
}

// TestRegistrySlowPullCancel: a pull from a registry sending 10 KB/s
// stops soon after the build's context is cancelled (Ctrl-C), and leaves
// no partial blob.
func TestRegistrySlowPullCancel(t *testing.T) {
	needSetup(t)
	p, ref, m := faultRegistry(t)
	layer := biggest(m)
	p.set(fault{match: layer.String(), kind: "slow"})
	dir := project(t, map[string]string{"Dockerfile": "FROM " + ref + "\n"})
	root := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	var errb bytes.Buffer
	go func() {
		done <- cli.Execute(ctx, []string{"--root", root, "build", dir}, nil, &bytes.Buffer{}, &errb)
	}()
	for i := 0; ; i++ { // until the slow transfer has started
		if _, gets := p.counts("slow", layer.String()); gets > 0 {
			break
		}
		if i == 200 {
			t.Fatal("the layer was never requested")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	start := time.Now()
	select {
	case code := <-done:
		if code == 0 {
			t.Fatalf("the build succeeded (in %v)", time.Since(start))
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("the build took %v to stop after cancel", took)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the build did not stop within 20 s of cancel")
	}
	if _, err := os.Stat(filepath.Join(root, "blobs", "sha256", layer.Hex)); err == nil {
		t.Error("the layer is in the store")
	}
	if left := storeLeftovers(t, root); len(left) > 0 {
		t.Errorf("left in the store's tmp: %v", left)
	}
}

// TestRegistryCacheFaults: --cache-from through the fault proxy: cut and
// failed blob transfers of cached layers are retried, no step runs.
func TestRegistryCacheFaults(t *testing.T) {
	needSetup(t)
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry not installed (apt-get install docker-registry)")
	}
	host := startRegistry(t, bin)
	p, phost := startFaultProxy(t, host)
	dir := project(t, map[string]string{"Dockerfile": cacheDockerfile, "src.txt": "source v1\n"})
	a := t.TempDir()
	if r := kilnIn(t, a, nil, "import", bbRootfs(t), "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	bbTar := filepath.Join(t.TempDir(), "busybox.tar")
	if r := kilnIn(t, a, nil, "save", "-o", bbTar, "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// the export goes through the proxy too: a 500 on an upload is retried
	p.set(fault{match: "/blobs/uploads/", kind: "500", times: 1})
	if r := kilnIn(t, a, nil, "build", "--cache-to", "type=registry,ref="+phost+"/kiln/cache:f,mode=max", "-t", "app:1", dir); r.code != 0 {
		t.Fatalf("build A: %s", r.stderr)
	}
	for _, f := range []fault{
		{match: "/manifests/", kind: "cut", times: 1},
		{match: "/blobs/sha256:", kind: "500", times: 2},
		{match: "/blobs/sha256:", kind: "cut", times: 3},
		{match: "/blobs/sha256:", kind: "reset", times: 2},
	} {
		t.Run(f.kind+"-"+strings.Trim(f.match, "/:"), func(t *testing.T) {
			p.set(f)
			b := t.TempDir()
			if r := kilnIn(t, b, nil, "load", "-i", bbTar); r.code != 0 {
				t.Fatal(r.stderr)
			}
			out := filepath.Join(t.TempDir(), "out")
			r := kilnIn(t, b, nil, "build", "--progress=rawjson", "--cache-from", "type=registry,ref="+phost+"/kiln/cache:f", "-o", out, dir)
			if r.code != 0 {
				t.Fatalf("build B: %s", r.stderr)
			}
			if fired, _ := p.counts(f.kind, f.match); fired == 0 {
				t.Error("the fault never fired")
			}
			if ran := ranSteps(r.stderr); len(ran) != 0 {
				t.Errorf("steps ran: %v", ran)
			}
			if got, _ := os.ReadFile(filepath.Join(out, "built.txt")); string(got) != "source v1\ncompiled\n" {
				t.Errorf("built.txt = %q", got)
			}
		})
	}
}

// storeLeftovers lists what is left under a closed store's tmp/.
func storeLeftovers(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(root, "tmp"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}
