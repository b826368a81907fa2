package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/source"
)

// TestSeedExample builds examples/hello exactly as written (golang:1.22
// builder → scratch) on an offline golang image made from the local Go
// toolchain, and checks the image has one layer holding /app, which runs.
func TestSeedExample(t *testing.T) {
	needSetup(t)
	if testing.Short() {
		t.Skip("compiles a Go program in a container; skipped with -short")
	}
	goroot := "/usr/local/go"
	if !fileExists(filepath.Join(goroot, "bin", "go")) {
		t.Skip("needs the Go toolchain at /usr/local/go for the offline golang image")
	}
	rootfs := filepath.Join(t.TempDir(), "golang")
	if err := makeBusybox(rootfs); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(rootfs, "usr/local"), 0o755)
	os.MkdirAll(filepath.Join(rootfs, "go/bin"), 0o777)
	if b, err := exec.Command("cp", "-a", goroot, filepath.Join(rootfs, "usr/local/go")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, b)
	}
	mustKiln(t, "import", "-c", "ENV PATH=/go/bin:/usr/local/go/bin:"+source.DefaultPath+" GOTOOLCHAIN=local GOPATH=/go",
		"-c", "WORKDIR /go", rootfs, "golang:1.22")

	out := filepath.Join(t.TempDir(), "hello")
	r := mustKiln(t, "build", "-t", "hello:seed", "-o", "type=image", "-o", "type=local,dest="+out, "../examples/hello")
	if !strings.Contains(r.stderr, "go build") {
		t.Errorf("no RUN go build in the output:\n%s", r.stderr)
	}
	// the summary says what crossed into the final image, and from where
	if !regexp.MustCompile(`COPY /src/app /app +[0-9.]+ MiB +builder`).MatchString(r.stderr) {
		t.Errorf("summary does not show /app copied from builder:\n%s", r.stderr)
	}
	img := storedImage(t, "hello:seed")
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Fatalf("final image has %d layers, want 1", len(layers))
	}
	files := flatten(t, img)
	if len(files) != 1 || files["app"].mode&0o111 == 0 {
		t.Errorf("final image files: %v", files)
	}
	got, err := exec.Command(filepath.Join(out, "app")).CombinedOutput()
	if err != nil || !strings.Contains(string(got), "hello from kiln") {
		t.Errorf("running /app: %v %q", err, got)
	}
}
