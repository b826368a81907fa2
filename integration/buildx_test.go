package integration

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestBuildxFlags: the flags a buildx CI script passes work as there:
// --progress=rawjson, --iidfile, --metadata-file, --annotation, and the
// attestation flags are accepted.
func TestBuildxFlags(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": outputDockerfile})
	out := t.TempDir()
	iid, meta, oci := filepath.Join(out, "iid"), filepath.Join(out, "meta.json"), filepath.Join(out, "oci.tar")
	r := mustKiln(t, "build", "--progress=rawjson", "-t", "flags:1", "--iidfile", iid, "--metadata-file", meta,
		"--annotation", "org.opencontainers.image.title=flags", "--annotation", "manifest-descriptor:note=desc",
		"--provenance=false", "--sbom=false", "-o", "type=image", "-o", "type=oci,dest="+oci, dir)
	var started, done int
	for _, e := range events(r.stderr) {
		switch e.Type {
		case "step.started":
			started++
		case "step.done", "step.cached":
			done++
		}
	}
	if started == 0 || started != done {
		t.Errorf("rawjson: %d started, %d ended\n%s", started, done, r.stderr)
	}
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if !strings.HasPrefix(l, "{") {
			t.Errorf("rawjson printed a non-JSON line: %q", l)
		}
	}
	id, _ := os.ReadFile(iid)
	img := storedImage(t, "flags:1")
	cfgName, _ := img.ConfigName()
	if string(id) != cfgName.String() {
		t.Errorf("iidfile %q, want %s", id, cfgName)
	}
	var m map[string]any
	b, _ := os.ReadFile(meta)
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("metadata file: %v\n%s", err, b)
	}
	digest, _ := img.Digest()
	desc, _ := m["containerimage.descriptor"].(map[string]any)
	if m["containerimage.digest"] != digest.String() || m["containerimage.config.digest"] != cfgName.String() ||
		m["image.name"] != "docker.io/library/flags:1" || desc["digest"] != digest.String() {
		t.Errorf("metadata %s", b)
	}
	mf, _ := img.Manifest()
	if mf.Annotations["org.opencontainers.image.title"] != "flags" {
		t.Errorf("manifest annotations %v", mf.Annotations)
	}
	lp := filepath.Join(out, "layout")
	untar(t, oci, lp)
	idx, err := layout.FromPath(lp)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.ImageIndex()
	imf, _ := im.IndexManifest()
	if imf.Manifests[0].Annotations["note"] != "desc" {
		t.Errorf("index.json descriptor annotations %v", imf.Manifests[0].Annotations)
	}
	if r := kiln(t, "build", "--progress=fancy", dir); r.code != 1 || !strings.Contains(r.stderr, "--progress=fancy") {
		t.Errorf("bad --progress: %d %s", r.code, r.stderr)
	}
	if r := kiln(t, "build", "--annotation", "index:a=b", dir); r.code != 1 || !strings.Contains(r.stderr, "multi-platform") {
		t.Errorf("index annotation on one platform: %d %s", r.code, r.stderr)
	}
}

// TestBuildContexts: --build-context replaces a stage, an image name in
// FROM and COPY --from, with a directory, an image or another stage.
func TestBuildContexts(t *testing.T) {
	needSetup(t)
	extra := project(t, map[string]string{"note.txt": "from a dir\n"})
	dir := project(t, map[string]string{"Dockerfile": `FROM busybox AS replaced
RUN echo never > /never
FROM busybox AS real
RUN echo real > /real
FROM scratch
COPY --from=replaced /note.txt /from-stage.txt
COPY --from=files /note.txt /from-name.txt
COPY --from=alias /real /from-alias.txt
COPY --from=myimage /bin/busybox /busybox
`})
	out := filepath.Join(t.TempDir(), "out")
	r := mustKiln(t, "build", "--progress=rawjson", "--build-context", "replaced="+extra, "--build-context", "files="+extra,
		"--build-context", "alias=target:real", "--build-context", "myimage=docker-image://busybox:latest", "-o", out, dir)
	for p, want := range map[string]string{"from-stage.txt": "from a dir\n", "from-name.txt": "from a dir\n", "from-alias.txt": "real\n"} {
		if b, _ := os.ReadFile(filepath.Join(out, p)); string(b) != want {
			t.Errorf("%s = %q, want %q", p, b, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(out, "busybox")); err != nil || fi.Size() < 100000 {
		t.Errorf("busybox from docker-image:// context: %v", err)
	}
	for _, e := range events(r.stderr) {
		if e.Type == "log" && strings.Contains(e.Line, "never") || strings.Contains(e.Name, "echo never") {
			t.Errorf("the replaced stage ran: %+v", e)
		}
	}
	if r := kiln(t, "build", "--build-context", "x=target:nosuch", "--build-context", "y=ftp://z", dir); r.code != 1 {
		t.Errorf("bad contexts accepted: %s", r.stderr)
	}
}

// TestLoad: --load sends a docker archive to the daemon at $DOCKER_HOST
// (a fake one here), and says clearly when there is none.
func TestLoad(t *testing.T) {
	needSetup(t)
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/images/load" {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		got <- b
		io.WriteString(w, `{"stream":"Loaded image: load:1\n"}`)
	})}
	go srv.Serve(l)
	defer srv.Close()
	dir := project(t, map[string]string{"Dockerfile": outputDockerfile})
	t.Setenv("DOCKER_HOST", "unix://"+sock)
	mustKiln(t, "build", "--load", "-t", "load:1", dir)
	tarPath := filepath.Join(t.TempDir(), "loaded.tar")
	os.WriteFile(tarPath, <-got, 0o644)
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(tarPath) })
	if err != nil || len(m) != 1 || m[0].RepoTags[0] != "docker.io/library/load:1" {
		t.Errorf("daemon got %+v, %v", m, err)
	}
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(t.TempDir(), "none.sock"))
	if r := kiln(t, "build", "--load", "-t", "load:2", dir); r.code != 1 || !strings.Contains(r.stderr, "no docker daemon reachable") {
		t.Errorf("--load without a daemon: %d %s", r.code, r.stderr)
	}
	if strings.Contains(kiln(t, "images").stdout, "load  *2") {
		t.Error("a failed --load left the image named")
	}
}

// TestNewcomerMessages: what a new user meets on the way.
func TestNewcomerMessages(t *testing.T) {
	needSetup(t)
	if r := kiln(t, "build", "/missing/ctx"); r.code != 1 || !strings.Contains(r.stderr, "build context /missing/ctx: no such directory") {
		t.Errorf("missing context: %s", r.stderr)
	}
	if r := kiln(t, "build", "--bogus", "."); strings.Count(r.stderr, "kiln") != 2 || !strings.HasPrefix(r.stderr, "kiln: unknown flag") {
		t.Errorf("unknown flag: %q", r.stderr)
	}
	none := filepath.Join(t.TempDir(), "no-store")
	if r := kilnIn(t, none, nil, "images"); r.code != 0 || !strings.Contains(r.stdout, "REPOSITORY") {
		t.Errorf("images on no store: %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(none); err == nil {
		t.Error("kiln images created a store")
	}
	dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY f /f\nRUN <<EOF\necho one > /1\necho two > /2\nEOF\n", "f": "x"})
	root := t.TempDir()
	kilnIn(t, root, nil, "load", "-i", saveBusybox(t))
	r := kilnIn(t, root, nil, "build", "--progress=plain", dir)
	if r.code != 0 || strings.Contains(r.stderr, "unchanged since the last build") || !strings.Contains(r.stderr, "context: 1 files read") {
		t.Errorf("first build of a context:\n%s", r.stderr)
	}
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.HasPrefix(l, "echo two") {
			t.Errorf("a heredoc line broke out of the summary table:\n%s", r.stderr)
		}
	}
	if r := kiln(t, "build", "--no-cache-filter", "nosuch", dir); r.code != 1 || !strings.Contains(r.stderr, `no stage "nosuch"`) {
		t.Errorf("bad --no-cache-filter: %s", r.stderr)
	}
	if r := kiln(t, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "kiln ") {
		t.Errorf("kiln version: %q", r.stdout)
	}
}

func saveBusybox(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bb.tar")
	mustKiln(t, "save", "-o", p, "busybox")
	return p
}

// TestCheck: --check (and --call=check) runs BuildKit's lint rules and
// builds nothing; ordinary builds print the warnings once; a Dockerfile
// with # check=error=true fails its build on a warning.
func TestCheck(t *testing.T) {
	needSetup(t)
	clean := project(t, map[string]string{"Dockerfile": "FROM busybox\nCMD [\"sh\"]\n"})
	if r := kiln(t, "build", "--check", clean); r.code != 0 || !strings.Contains(r.stdout, "Check complete, no warnings found.") {
		t.Errorf("clean --check: %d %q %s", r.code, r.stdout, r.stderr)
	}
	dirty := project(t, map[string]string{"Dockerfile": "FROM busybox as Builder\nRUN echo never-runs > /x\nCMD echo hi\n"})
	r := kiln(t, "build", "--call=check", dirty)
	if r.code != 1 || !strings.Contains(r.stdout, "Check complete, 3 warnings have been found!") ||
		!strings.Contains(r.stdout, "WARNING: JSONArgsRecommended") || strings.Contains(r.stderr, "never-runs") {
		t.Errorf("--call=check: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := kiln(t, "build", "--call=check,ignorestatus=true", dirty); r.code != 0 {
		t.Errorf("ignorestatus: %d", r.code)
	}
	r = mustKiln(t, "build", "--progress=plain", dirty)
	if n := strings.Count(r.stderr, "WARN: JSONArgsRecommended"); n != 1 {
		t.Errorf("the build printed the JSONArgsRecommended warning %d times, want once in the progress:\n%s", n, r.stderr)
	}
	if !strings.Contains(r.stderr, "3 warnings found") {
		t.Errorf("no warning summary:\n%s", r.stderr)
	}
	strict := project(t, map[string]string{"Dockerfile": "# check=error=true\nFROM busybox as Builder\nCMD [\"sh\"]\n"})
	if r := kiln(t, "build", strict); r.code != 1 || !strings.Contains(r.stderr, "lint violation found for rules: FromAsCasing") {
		t.Errorf("check=error=true build: %d %s", r.code, r.stderr)
	}
	skip := project(t, map[string]string{"Dockerfile": "# check=skip=FromAsCasing,StageNameCasing\nFROM busybox as Builder\nCMD [\"sh\"]\n"})
	if r := kiln(t, "build", "--check", skip); r.code != 0 {
		t.Errorf("check=skip: %d %s", r.code, r.stdout)
	}
}
