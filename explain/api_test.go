package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/store"
)

func TestResolve(t *testing.T) {
	st := newStore(t)
	d := sampleImage(t).put(t, st)
	m, err := readManifest(st, d)
	if err != nil {
		t.Fatal(err)
	}
	unnamed := testImage{layers: [][]byte{tarOf(t, file("/a", "a"))}}.put(t, st)
	tests := []struct {
		ref  string
		want string
	}{
		{"sample:1", d.String()},
		{"docker.io/library/sample:1", d.String()},
		{d.String(), d.String()},
		{"sample@" + d.String(), d.String()},
		{m.Config.Digest.String(), d.String()}, // the image ID
		{unnamed.String(), unnamed.String()},   // the last build's, unnamed
		{"nosuch:1", "not found"},
		{"sha256:" + strings.Repeat("0", 64), "not found"},
	}
	for _, tt := range tests {
		got, err := Resolve(st, tt.ref)
		if tt.want == "not found" {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Resolve(%s) = %v, %v; want ErrNotFound", tt.ref, got, err)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("Resolve(%s) = %v, %v; want %s", tt.ref, got, err, tt.want)
		}
	}
}

// TestDegradedImages: what cannot be fully explained is explained as far
// as it can be, with a note.
func TestDegradedImages(t *testing.T) {
	t.Run("no layers", func(t *testing.T) {
		st := newStore(t)
		rep := analyze(t, st, testImage{}.put(t, st).String())
		if len(rep.Layers) != 0 || rep.Bytes != 0 || len(rep.Warnings) != 0 {
			t.Errorf("report %+v", rep)
		}
	})
	t.Run("a layer blob missing", func(t *testing.T) {
		st := newStore(t)
		img := sampleImage(t)
		d := img.put(t, st)
		m, _ := readManifest(st, d)
		os.Remove(st.BlobPath(m.Layers[1].Digest))
		rep := analyze(t, st, d.String())
		if rep.Layers[1].Read || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "layer 1") ||
			!rep.Layers[2].Read || rep.Layers[1].Instruction != "COPY --from=builder / /" {
			t.Errorf("layers %+v notes %q", rep.Layers, rep.Notes)
		}
	})
	t.Run("a record for other layers", func(t *testing.T) {
		st := newStore(t)
		img := sampleImage(t)
		img.rec.Layers = img.rec.Layers[:2]
		img.layers = img.layers[:2]
		d := img.put(t, st)
		raw, _ := st.Record("build", d)
		var rec map[string]any
		json.Unmarshal(raw, &rec)
		rec["layers"].([]any)[1].(map[string]any)["diff_id"] = "sha256:" + strings.Repeat("1", 64)
		raw, _ = json.Marshal(rec)
		st.PutRecord("build", d, raw)
		rep := analyze(t, st, d.String())
		if rep.Record || len(rep.Stages) != 0 || len(rep.Notes) != 1 || rep.Layers[1].CreatedBy != "COPY / /" {
			t.Errorf("record %v stages %v notes %q", rep.Record, rep.Stages, rep.Notes)
		}
	})
}

func analyze(t *testing.T, st *store.Store, ref string) *Report {
	t.Helper()
	rep, err := Analyze(context.Background(), st, ref, WithoutLayerCache())
	if err != nil {
		t.Fatal(err)
	}
	for _, write := range []func(*bytes.Buffer) error{
		func(b *bytes.Buffer) error { return rep.WriteTable(b) },
		func(b *bytes.Buffer) error { return rep.WriteJSON(b) },
		func(b *bytes.Buffer) error { return rep.WriteHTML(b) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil || b.Len() == 0 {
			t.Errorf("writing the report: %v", err)
		}
	}
	return rep
}

func TestTableGolden(t *testing.T) {
	st := newStore(t)
	sampleImage(t).put(t, st)
	rep := analyze(t, st, "sample:1")
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/sample.txt"
	if *update {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("table differs from %s (run with -update after a deliberate change):\n%s", golden, buf.String())
	}
}

func TestOptions(t *testing.T) {
	st := newStore(t)
	sampleImage(t).put(t, st)
	rep, err := Analyze(context.Background(), st, "sample:1", WithTopPaths(1), WithJobs(1))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rep.Layers[1].TopPaths); n != 1 {
		t.Errorf("%d top paths, want 1", n)
	}
	for _, bad := range []Option{WithTopPaths(-1), WithTopPaths(21), WithJobs(0)} {
		if _, err := Analyze(context.Background(), st, "sample:1", bad); err == nil {
			t.Error("a bad option was accepted")
		}
	}
}

// TestMultiPlatform: of an index, AnalyzeDigest explains one platform's
// image and Check checks every platform's, listing a warning they share
// once.
func TestMultiPlatform(t *testing.T) {
	st := newStore(t)
	amd := sampleImage(t)
	amd.name = ""
	arm := sampleImage(t)
	arm.name, arm.arch = "", "arm64"
	arm.layers = append([][]byte{}, arm.layers...)
	arm.layers[0] = tarOf(t, exe("/bin/busybox", fakeELF), file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
		file("/etc/ssh/id_rsa", "a key only the arm64 base has"))
	arm.rec = record(arm.rec.Target, arm.rec.Stages, append([]image.LayerRecord{{Made: prov("stage-1", "RUN arm64 setup", 4)}},
		arm.rec.Layers[1:]...)...)
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	for _, ti := range []testImage{amd, arm} {
		d := ti.put(t, st)
		raw, _ := st.ReadBlob(d)
		idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw)),
			Platform: &v1.Platform{OS: "linux", Architecture: map[string]string{"": "amd64", "arm64": "arm64"}[ti.arch]}})
	}
	raw, _ := json.Marshal(idx)
	d, err := st.WriteBlobBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Tag("docker.io/library/multi:1", v1.Descriptor{MediaType: types.OCIImageIndex, Digest: d, Size: int64(len(raw))}); err != nil {
		t.Fatal(err)
	}

	ws, err := Check(context.Background(), st, d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		got = append(got, w.Rule+" "+w.Platform)
	}
	want := []string{"SecretShipped linux/arm64", "ToolchainCopied linux/amd64, linux/arm64", "BuildCacheShipped linux/amd64, linux/arm64",
		"VCSDirShipped linux/amd64, linux/arm64", "WholeStageCopied linux/amd64, linux/arm64",
		"SecretShipped linux/amd64, linux/arm64", "ContextCopiedWhole linux/amd64, linux/arm64"}
	if !sameSet(got, want) {
		t.Errorf("Check on the index:\n%q\nwant\n%q", got, want)
	}

	rep, err := Analyze(context.Background(), st, "multi:1", WithPlatform("linux/arm64"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Platform != "linux/arm64" || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "linux/amd64, linux/arm64") {
		t.Errorf("platform %q notes %q", rep.Platform, rep.Notes)
	}
	if _, err := Analyze(context.Background(), st, "multi:1", WithPlatform("linux/s390x")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a platform the index lacks: %v", err)
	}
	if _, err := Analyze(context.Background(), st, "multi:1", WithPlatform("linux")); err == nil {
		t.Error("a platform without an architecture was accepted")
	}
}
