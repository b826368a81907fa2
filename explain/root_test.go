package explain_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/explain"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/store"
)

// TestRealRunAsRoot builds with real RUN steps (containers, overlay upper
// dirs turned into layers with real whiteouts): the apt lists a RUN leaves
// warn, with the later RUN that deletes them named; the builder's own pip
// cache, which no COPY takes, does not.
func TestRealRunAsRoot(t *testing.T) {
	switch {
	case os.Geteuid() != 0:
		t.Skip("needs root (overlay mounts, containers)")
	case !fileExists("/bin/busybox"):
		t.Skip("needs a static busybox at /bin/busybox (apt-get install busybox-static)")
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rootfs, dir := t.TempDir(), t.TempDir()
	if err := busyboxRootfs(rootfs); err != nil {
		t.Fatal(err)
	}
	if _, err := export.Import(context.Background(), st, rootfs, "busybox:latest", []string{"ENV PATH=/bin", `CMD ["sh"]`}, ""); err != nil {
		t.Fatal(err)
	}
	write(t, dir, map[string]string{"Dockerfile": `FROM busybox AS builder
RUN --network=none mkdir -p /root/.cache/pip/http && echo wheel > /root/.cache/pip/http/w && echo built > /app

FROM busybox
COPY --from=builder /app /app
RUN --network=none mkdir -p /var/lib/apt/lists && echo 'Package: x' > /var/lib/apt/lists/x_Packages
RUN --network=none rm -rf /var/lib/apt/lists
`})
	res, err := solver.Build(context.Background(), st, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	rep, err := export.Write(context.Background(), st, res, []export.Output{{Type: "image"}})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := explain.Check(context.Background(), st, rep.Manifest.Digest)
	if err != nil {
		t.Fatal(err)
	}
	got := describe(ws)
	if len(got) != 1 || got[0] != "BuildCacheShipped layer 2 line 6: /var/lib/apt/lists" ||
		!strings.Contains(ws[0].Message, "layer 3 deletes it, but its bytes still ship in layer 2") {
		t.Errorf("warnings %q %+v", got, ws)
	}
}

// busyboxRootfs lays out a root filesystem of the host's static busybox.
func busyboxRootfs(r string) error {
	for _, d := range []string{"bin", "etc", "root", "tmp", "var", "proc", "sys", "dev"} {
		if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
			return err
		}
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r, "bin/busybox"), bb, 0o755); err != nil {
		return err
	}
	list, err := exec.Command("/bin/busybox", "--list").Output()
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(string(list)) {
		if name != "busybox" {
			os.Symlink("/bin/busybox", filepath.Join(r, "bin", name))
		}
	}
	return os.WriteFile(filepath.Join(r, "etc/passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
}
