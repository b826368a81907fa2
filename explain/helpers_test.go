package explain

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/store"
)

// entry is one tar entry of a synthetic layer: a directory when name
// ends in "/", a symlink when link is set, else a file (mode 0644
// unless given).
type entry struct {
	name string
	body []byte
	mode int64
	link string
}

func file(name, body string) entry       { return entry{name: name, body: []byte(body)} }
func exe(name string, body []byte) entry { return entry{name: name, body: body, mode: 0o755} }
func dir(name string) entry              { return entry{name: name + "/"} }
func whiteout(p string) entry {
	d, b := filepath.Split(p)
	return entry{name: d + ".wh." + b}
}

// tarOf writes entries into an uncompressed layer tar.
func tarOf(t testing.TB, es ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(1700000000, 0)
	for _, e := range es {
		h := &tar.Header{Name: strings.TrimPrefix(e.name, "/"), Mode: e.mode, ModTime: mtime, Format: tar.FormatPAX}
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case e.link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func scanOf(t testing.TB, es ...entry) *layerScan {
	t.Helper()
	s, err := scanTar(context.Background(), bytes.NewReader(tarOf(t, es...)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	binOnce              sync.Once
	goToolBin, goProgram []byte
)

// binaries returns a Go toolchain command (GOROOT's gofmt, built as
// "cmd/gofmt") and an ordinary Go program (this test binary); the test
// is skipped when the toolchain is not at hand.
func binaries(t testing.TB) (tool, program []byte) {
	t.Helper()
	binOnce.Do(func() {
		goroot := runtime.GOROOT()
		if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
			goroot = strings.TrimSpace(string(out))
		}
		goToolBin, _ = os.ReadFile(filepath.Join(goroot, "bin", "gofmt"))
		if self, err := os.Executable(); err == nil {
			goProgram, _ = os.ReadFile(self)
		}
	})
	if len(goToolBin) == 0 || len(goProgram) == 0 {
		t.Skip("needs GOROOT/bin/gofmt and this test's own binary")
	}
	return goToolBin, goProgram
}

// fakeELF is the start of an ELF executable: enough for the magic check,
// not a Go binary.
var fakeELF = append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 200)...)

const pemKey = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"

// testImage is a synthetic image for the store: layer tars and, when
// rec is set, a build record whose layers get the tars' diff IDs.
type testImage struct {
	name    string
	layers  [][]byte
	history []string // created_by of each layer
	rec     *image.Record
	arch    string // default amd64
}

func newStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// put stores the image (layers uncompressed, so digests are stable) and
// returns its manifest digest.
func (ti testImage) put(t testing.TB, st *store.Store) v1.Hash {
	t.Helper()
	img := empty.Image
	var hist []v1.History
	for i, b := range ti.layers {
		var err error
		created := ""
		if i < len(ti.history) {
			created = ti.history[i]
		}
		hist = append(hist, v1.History{CreatedBy: created})
		if img, err = mutate.AppendLayers(img, static.NewLayer(b, types.OCIUncompressedLayer)); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.History, cf.Architecture, cf.OS = hist, "amd64", "linux"
	if ti.arch != "" {
		cf.Architecture = ti.arch
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	desc, err := st.PutImage(img)
	if err != nil {
		t.Fatal(err)
	}
	if ti.name != "" {
		n, _ := store.Normalize(ti.name)
		if err := st.Tag(n, desc); err != nil {
			t.Fatal(err)
		}
	}
	if ti.rec != nil {
		rec := *ti.rec
		rec.Layers = append([]image.LayerRecord(nil), ti.rec.Layers...)
		for i, b := range ti.layers {
			l := static.NewLayer(b, types.OCIUncompressedLayer)
			d, _ := l.Digest()
			rec.Layers[i].DiffID, rec.Layers[i].Digest, rec.Layers[i].Size = d.String(), d.String(), int64(len(b))
		}
		raw, _ := json.Marshal(rec)
		if err := st.PutRecord("build", desc.Digest, raw); err != nil {
			t.Fatal(err)
		}
	}
	return desc.Digest
}

// sampleImage is a small leaky two-stage build with every kind of
// finding, built from fixed bytes (its digests never change): the golden
// JSON and the HTML render test use it.
func sampleImage(t testing.TB) testImage {
	t.Helper()
	return testImage{
		name: "sample:1",
		layers: [][]byte{
			tarOf(t, dir("/bin"), exe("/bin/busybox", append(fakeELF, make([]byte, 900_000)...)),
				dir("/etc"), file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")),
			tarOf(t, exe("/usr/libexec/gcc/x86_64-linux-gnu/12/cc1", append(fakeELF, make([]byte, 2_000_000)...)),
				exe("/usr/bin/x86_64-linux-gnu-gcc-12", append(fakeELF, make([]byte, 300_000)...)),
				file("/root/.cache/go-build/3f/3f0a-d", strings.Repeat("o", 700_000)),
				file("/root/.cache/go-build/40/40b1-d", strings.Repeat("p", 500_000)),
				exe("/src/app", append([]byte("#!/bin/sh\n"), make([]byte, 1_200_000)...)),
				file("/src/.git/HEAD", "ref: refs/heads/main\n"),
				file("/src/.git/objects/pack/p.pack", strings.Repeat("g", 90_000))),
			tarOf(t, file("/app/main.c", "int main(void) { return 0; }\n"), file("/app/.env", "DB_PASSWORD=hunter2\n"),
				file("/app/deploy.pem", pemKey)),
			tarOf(t, dir("/app"), whiteout("/app/.env")),
		},
		history: []string{"kiln import busybox", "COPY / / # buildkit", "COPY . /app # buildkit", "RUN rm /app/.env # buildkit"},
		rec: record("stage-1", []image.StageRecord{{Name: "builder", Base: "gcc:12", Bytes: 48_000_000, Steps: 3},
			{Name: "stage-1", Base: "busybox", Bytes: 4_700_190, Steps: 3}},
			image.LayerRecord{BaseImage: "busybox"},
			image.LayerRecord{FromStage: "builder", Made: prov("stage-1", "COPY --from=builder / /", 7, "/")},
			image.LayerRecord{Made: prov("stage-1", "COPY . /app", 8, ".")},
			image.LayerRecord{Made: prov("stage-1", "RUN rm /app/.env", 9)}),
	}
}
