package integration

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const outputDockerfile = `FROM busybox AS builder
RUN echo built > /artifact
FROM scratch
COPY --from=builder /artifact /artifact
ENV MODE=test
CMD ["/artifact"]
`

// TestOutputs: every --output type on one build, each read back by an
// independent reader (ggcr, skopeo when installed, kiln load).
func TestOutputs(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": outputDockerfile})
	out := t.TempDir()
	oci, docker, flat, local := filepath.Join(out, "oci.tar"), filepath.Join(out, "docker.tar"), filepath.Join(out, "flat.tar"), filepath.Join(out, "local")
	mustKiln(t, "build", "-t", "outputs:1",
		"-o", "type=oci,dest="+oci, "-o", "type=docker,dest="+docker,
		"-o", "type=tar,dest="+flat, "-o", local, dir)

	// OCI archive: an OCI layout inside a tar
	layoutDir := filepath.Join(out, "layout")
	untar(t, oci, layoutDir)
	lp, err := layout.FromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := lp.ImageIndex()
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "1" ||
		im.Manifests[0].Annotations["io.containerd.image.name"] != "docker.io/library/outputs:1" {
		t.Fatalf("OCI index: %+v", im.Manifests)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if f := flatten(t, img); f["artifact"].body != "built\n" || len(f) != 1 {
		t.Errorf("OCI archive files: %+v", f)
	}

	// an OCI layout dir is a base image through a named context
	// (--build-context NAME=oci-layout:///dir:tag), as in BuildKit; a
	// Dockerfile cannot name a host path itself
	child := project(t, map[string]string{"Dockerfile": "FROM base\nCOPY --from=other /artifact /again\n"})
	if r := kilnIn(t, t.TempDir(), nil, "build", "--build-context", "base=oci-layout://"+layoutDir+":1",
		"--build-context", "other=oci-layout://"+layoutDir, "-o", filepath.Join(out, "from-layout"), child); r.code != 0 {
		t.Fatalf("FROM oci-layout: %s", r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "from-layout", "again")); string(b) != "built\n" {
		t.Errorf("FROM oci-layout: /again = %q", b)
	}
	direct := project(t, map[string]string{"Dockerfile": "FROM oci-layout://" + layoutDir + ":1\n"})
	if r := kilnIn(t, t.TempDir(), nil, "build", direct); r.code != 1 || !strings.Contains(r.stderr, "--build-context") {
		t.Errorf("FROM oci-layout:// in a Dockerfile: exit %d %s", r.code, r.stderr)
	}

	// docker archive: docker load format
	tag, _ := name.NewTag("outputs:1")
	dimg, err := tarball.ImageFromPath(docker, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := dimg.ConfigFile()
	if strings.Join(cf.Config.Cmd, " ") != "/artifact" || cf.Config.Env[1] != "MODE=test" {
		t.Errorf("docker archive config: %+v", cf.Config)
	}
	if f := flatten(t, dimg); f["artifact"].body != "built\n" {
		t.Errorf("docker archive files: %+v", f)
	}

	// flat tar and local dir: the files only
	names := tarNames(t, flat)
	if strings.Join(names, ",") != "artifact" {
		t.Errorf("flat tar entries: %q", names)
	}
	if b, _ := os.ReadFile(filepath.Join(local, "artifact")); string(b) != "built\n" {
		t.Errorf("local output: %q", b)
	}

	// skopeo reads both archives, when installed
	if _, err := exec.LookPath("skopeo"); err == nil {
		for _, ref := range []string{"oci-archive:" + oci, "docker-archive:" + docker} {
			if b, err := exec.Command("skopeo", "inspect", ref).CombinedOutput(); err != nil {
				t.Errorf("skopeo inspect %s: %v\n%s", ref, err, b)
			}
		}
	}

	// kiln load into a fresh store, then save and load again
	fresh := t.TempDir()
	for _, a := range []string{oci, docker} {
		if r := kilnIn(t, fresh, nil, "load", "-i", a); r.code != 0 || !strings.Contains(r.stdout, "outputs:1") {
			t.Fatalf("load %s: %d %s %s", a, r.code, r.stdout, r.stderr)
		}
	}
	saved := filepath.Join(out, "saved.tar")
	if r := kilnIn(t, fresh, nil, "save", "-o", saved, "outputs:1"); r.code != 0 {
		t.Fatalf("save: %s", r.stderr)
	}
	if r := kilnIn(t, fresh, nil, "build", "-t", "child:1", project(t, map[string]string{"Dockerfile": "FROM outputs:1\nENV CHILD=1\n"})); r.code != 0 {
		t.Fatalf("build on a loaded image: %s", r.stderr)
	}
}

// TestTagRmPrune: tag, rm and prune keep what is named and free the rest.
func TestTagRmPrune(t *testing.T) {
	needSetup(t)
	root := t.TempDir()
	dir := project(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY f /f\n", "f": "x"})
	for _, args := range [][]string{{"build", "-t", "p:1", dir}, {"tag", "p:1", "p:2"}, {"rm", "p:1"}} {
		if r := kilnIn(t, root, nil, args...); r.code != 0 {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}
	r := kilnIn(t, root, nil, "images")
	if strings.Contains(r.stdout, "p    1") || !strings.Contains(r.stdout, "2") {
		t.Errorf("images after tag+rm:\n%s", r.stdout)
	}
	if r := kilnIn(t, root, nil, "prune"); r.code != 0 {
		t.Fatalf("prune: %s", r.stderr)
	}
	if r := kilnIn(t, root, nil, "save", "-o", filepath.Join(t.TempDir(), "x.tar"), "p:2"); r.code != 0 {
		t.Errorf("p:2 broken after prune: %s", r.stderr)
	}
	if r := kilnIn(t, root, nil, "rm", "p:2"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	kilnIn(t, root, nil, "prune")
	blobs, _ := os.ReadDir(filepath.Join(root, "blobs", "sha256"))
	snaps, _ := os.ReadDir(filepath.Join(root, "snapshots"))
	if len(blobs) != 0 || len(snaps) != 0 {
		t.Errorf("prune left %d blobs and %d snapshots", len(blobs), len(snaps))
	}
}

func untar(t *testing.T, file, dir string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, h.Name)
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		b, _ := io.ReadAll(tr)
		os.WriteFile(p, b, 0o644)
	}
}

func tarNames(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
	}
}

// TestOutputDestinations: archives written to a device go through it (the
// device stays), written files get 0644 under umask 022, a directory is
// refused, and `kiln load` never follows a symlink inside an OCI archive.
func TestOutputDestinations(t *testing.T) {
	needSetup(t)
	dir := t.TempDir()
	null := filepath.Join(dir, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	mustKiln(t, "save", "-o", null, "busybox")
	if fi, _ := os.Lstat(null); fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("kiln save replaced a device with a %v", fi.Mode())
	}
	old := syscall.Umask(0o022)
	saved := filepath.Join(dir, "bb.tar")
	mustKiln(t, "save", "-o", saved, "busybox")
	syscall.Umask(old)
	if fi, _ := os.Stat(saved); fi.Mode().Perm() != 0o644 {
		t.Errorf("saved archive mode %v, want 0644", fi.Mode().Perm())
	}
	if r := kiln(t, "save", "-o", dir, "busybox"); r.code != 1 || !strings.Contains(r.stderr, "is a directory") {
		t.Errorf("save to a directory: exit %d: %s", r.code, r.stderr)
	}

	secret := filepath.Join(dir, "host-secret")
	os.WriteFile(secret, []byte(`{"schemaVersion":2,"manifests":[]}`), 0o600)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "oci-layout", Typeflag: tar.TypeReg, Mode: 0o644, Size: 30})
	tw.Write([]byte(`{"imageLayoutVersion":"1.0.0"}`))
	tw.WriteHeader(&tar.Header{Name: "index.json", Typeflag: tar.TypeSymlink, Linkname: secret})
	tw.Close()
	evil := filepath.Join(dir, "evil.tar")
	os.WriteFile(evil, buf.Bytes(), 0o644)
	if r := kiln(t, "load", "-i", evil); r.code != 1 || !strings.Contains(r.stderr, "index.json is not a regular file") {
		t.Errorf("load of an archive with a symlinked index.json: exit %d: %s", r.code, r.stderr)
	}
}
