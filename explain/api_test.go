package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

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
