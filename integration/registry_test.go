package integration

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/kiln-build/kiln/store"
)

// TestRegistryInProcess: push to ggcr's in-process registry, then build on
// an empty store FROM the pushed image and COPY --from it.
func TestRegistryInProcess(t *testing.T) {
	needSetup(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	registryRoundTrip(t, host)
}

// TestRegistryReal: the same against Debian's docker-registry (distribution),
// started here on 127.0.0.1.
func TestRegistryReal(t *testing.T) {
	needSetup(t)
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry not installed (apt-get install docker-registry)")
	}
	host := startRegistry(t, bin)
	registryRoundTrip(t, host)
}

func registryRoundTrip(t *testing.T, host string) {
	t.Helper()
	ref := host + "/kiln/app:1"
	dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo pushed > /p.txt\nCMD [\"cat\", \"/p.txt\"]\n"})
	mustKiln(t, "build", "-t", ref, "--push", dir)

	// bit-identical: the registry serves the manifest the store holds
	st, err := store.Open(storeRoot)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := store.Normalize(ref)
	desc, err := st.Lookup(full)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	got, err := remote.Get(r)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest != desc.Digest {
		t.Errorf("registry has %s, store has %s", got.Digest, desc.Digest)
	}

	// a fresh store pulls it as a base and as a COPY --from source
	fresh := t.TempDir()
	child := project(t, map[string]string{"Dockerfile": fmt.Sprintf("FROM %s\nRUN cat /p.txt > /again.txt\nFROM scratch\nCOPY --from=%s /p.txt /copied.txt\nCOPY --from=0 /again.txt /\n", ref, ref)})
	out := filepath.Join(t.TempDir(), "out")
	res := kilnIn(t, fresh, nil, "build", "-o", out, child)
	if res.code != 0 {
		t.Fatalf("build from registry: %s", res.stderr)
	}
	// used as a base and by COPY --from, each of its 2 layers is pulled once
	if n := strings.Count(res.stderr, "pulling "+ref+" layer"); n != 2 {
		t.Errorf("%d layer pulls, want 2:\n%s", n, res.stderr)
	}
	// the pulled image is kept by name: the next build does not ask the
	// registry, unless --pull
	if res := kilnIn(t, fresh, nil, "build", "-o", out, child); res.code != 0 || strings.Contains(res.stderr, "resolving") {
		t.Errorf("second build resolved against the registry (or failed):\n%s", res.stderr)
	}
	if res := kilnIn(t, fresh, nil, "build", "--pull", "-o", out, child); res.code != 0 || !strings.Contains(res.stderr, "resolving") {
		t.Errorf("--pull did not resolve against the registry:\n%s", res.stderr)
	}
	for f, want := range map[string]string{"copied.txt": "pushed\n", "again.txt": "pushed\n"} {
		if b, _ := os.ReadFile(filepath.Join(out, f)); string(b) != want {
			t.Errorf("%s = %q", f, b)
		}
	}
	// kiln push NAME REF re-pushes under another name
	if res := kiln(t, "push", ref, host+"/kiln/other:2"); res.code != 0 {
		t.Fatalf("kiln push: %s", res.stderr)
	}
	r2, _ := name.ParseReference(host + "/kiln/other:2")
	if d, err := remote.Head(r2); err != nil || d.Digest != desc.Digest {
		t.Errorf("pushed copy: %v %v", d, err)
	}
}

// anyRegistry is Debian's docker-registry when installed (as CI has
// it), else ggcr's in-process registry.
func anyRegistry(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("docker-registry"); err == nil {
		return startRegistry(t, bin)
	}
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// startRegistry runs docker-registry on a free loopback port until the test ends.
func startRegistry(t *testing.T, bin string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: %s/data
http:
  addr: %s
`, dir, addr)), 0o644)
	cmd := exec.Command(bin, "serve", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if resp, err := http.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("docker-registry did not start")
	return ""
}
