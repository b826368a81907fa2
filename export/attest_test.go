package export_test

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/kiln-build/kiln/attest"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/store"
)

var both = withAttestations(export.AttestFlags{SBOM: "true", Provenance: "mode=max"})

func withAttestations(f export.AttestFlags) export.Option {
	spec, err := export.ParseAttestations(f)
	if err != nil {
		panic(err)
	}
	return export.WithAttestations(spec)
}

// readIndex reads the index desc names, with its images and attestation
// manifests apart.
func readIndex(t *testing.T, st *store.Store, d v1.Hash) (imgs, atts []v1.Descriptor) {
	t.Helper()
	raw, err := st.ReadBlob(d)
	if err != nil {
		t.Fatal(err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil || !idx.MediaType.IsIndex() {
		t.Fatalf("not an index (%v): %s", err, raw)
	}
	for _, m := range idx.Manifests {
		if attest.IsAttestation(m) {
			atts = append(atts, m)
		} else {
			imgs = append(imgs, m)
		}
	}
	return imgs, atts
}

// statement reads the attestation of predicateType from the list.
func statement(t *testing.T, st *store.Store, list []attest.Attestation, predicateType string) map[string]any {
	t.Helper()
	for _, a := range list {
		if a.PredicateType == predicateType {
			raw, err := st.ReadBlob(a.Digest)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("no %s attestation in %+v", predicateType, list)
	return nil
}

func at(m any, path ...string) any {
	for _, k := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}

func TestAttestationsInTheStore(t *testing.T) {
	f := newFixture(t, multiStage)
	res := f.build(solver.WithBuildArgs(map[string]string{"V": "2"}), solver.WithLabels(map[string]string{"team": "a"}))
	rec := &progress.Recorder{}
	rep, err := export.Write(context.Background(), f.st, res, []export.Output{{Type: "image"}},
		export.WithTags("example.com/app:1"), both, export.WithProgress(rec))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Manifest.MediaType.IsIndex() || rep.ImageID != rep.Manifest.Digest.String() {
		t.Fatalf("report %+v: want an index, named by its digest", rep)
	}
	if desc, err := f.st.Lookup("example.com/app:1"); err != nil || desc.Digest != rep.Manifest.Digest {
		t.Errorf("the name points at %v (%v), not the index", desc.Digest, err)
	}
	if _, ok := rep.Metadata()["containerimage.config.digest"]; ok {
		t.Error("metadata has a config digest for an index (BuildKit's has none)")
	}
	imgs, atts := readIndex(t, f.st, rep.Manifest.Digest)
	if len(imgs) != 1 || len(atts) != 1 || imgs[0].Platform == nil || imgs[0].Platform.OS != "linux" ||
		atts[0].Annotations[attest.RefDigestAnnotation] != imgs[0].Digest.String() {
		t.Fatalf("index: images %+v, attestations %+v", imgs, atts)
	}
	list, err := attest.List(f.st, rep.Manifest.Digest)
	if err != nil || len(list) != 2 || list[0].PredicateType != attest.PredicateSPDX || list[1].PredicateType != attest.PredicateSLSA1 {
		t.Fatalf("attestations %+v, %v", list, err)
	}

	sbom := statement(t, f.st, list, attest.PredicateSPDX)
	subj := at(sbom, "subject").([]any)[0]
	if !strings.HasPrefix(at(subj, "name").(string), "pkg:docker/example.com/app@1?platform=linux%2F") ||
		at(subj, "digest", "sha256") != imgs[0].Digest.Hex {
		t.Errorf("subject %v", subj)
	}
	if at(sbom, "predicate", "spdxVersion") != "SPDX-2.3" || at(sbom, "predicate", "name") != "example.com/app:1" {
		t.Errorf("SBOM %v", at(sbom, "predicate"))
	}

	prov := statement(t, f.st, list, attest.PredicateSLSA1)
	args := at(prov, "predicate", "buildDefinition", "externalParameters", "request", "args")
	if at(args, "build-arg:V") != "2" || at(args, "label:team") != "a" {
		t.Errorf("request args %v", args)
	}
	steps := at(prov, "predicate", "buildDefinition", "internalParameters", "buildConfig", "steps").([]any)
	var copyStep any
	for _, s := range steps {
		if strings.HasPrefix(at(s, "instruction").(string), "COPY --from=builder") {
			copyStep = s
		}
	}
	if len(steps) != 6 || copyStep == nil || len(at(copyStep, "inputs").([]any)) != 2 {
		t.Fatalf("steps %v", steps)
	}
	m, _ := f.st.Image(imgs[0].Digest)
	mf, _ := m.Manifest()
	layers := at(prov, "predicate", "runDetails", "metadata", "buildkit_metadata", "layers", at(copyStep, "id").(string)+":0").([]any)[0].([]any)
	if len(layers) != len(mf.Layers) || at(layers[len(layers)-1], "digest") != mf.Layers[len(mf.Layers)-1].Digest.String() {
		t.Errorf("the COPY step's layers %v, the image's %v", layers, mf.Layers)
	}
	if at(prov, "predicate", "runDetails", "metadata", "invocationId") == nil {
		t.Error("no invocation ID without SOURCE_DATE_EPOCH")
	}
}

func TestAttestationsNotAskedForChangeNothing(t *testing.T) {
	f := newFixture(t, multiStage)
	res := f.build()
	for _, flags := range []export.AttestFlags{{}, {SBOM: "false", Provenance: "false"}} {
		rep, err := export.Write(context.Background(), f.st, res, []export.Output{{Type: "image"}}, export.WithTags("app:1"),
			withAttestations(flags))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Manifest.MediaType.IsIndex() || !strings.HasPrefix(rep.ImageID, "sha256:") || rep.ImageID == rep.Manifest.Digest.String() {
			t.Errorf("%+v: %+v, want the image manifest and its config digest", flags, rep)
		}
	}
}

func TestAttestationsInArchives(t *testing.T) {
	f := newFixture(t, multiStage)
	res := f.build()
	out := t.TempDir()
	rec := &progress.Recorder{}
	outs := []export.Output{{Type: "oci", Dest: filepath.Join(out, "oci.tar")}, {Type: "docker", Dest: filepath.Join(out, "docker.tar")}}
	rep, err := export.Write(context.Background(), f.st, res, outs, export.WithTags("app:2"), both, export.WithProgress(rec))
	if err != nil {
		t.Fatal(err)
	}
	// the OCI archive holds the index, the attestation manifest, its
	// empty config and the statements
	names := tarNames(t, filepath.Join(out, "oci.tar"))
	_, atts := readIndex(t, f.st, rep.Manifest.Digest)
	raw, _ := f.st.ReadBlob(atts[0].Digest)
	var am v1.Manifest
	json.Unmarshal(raw, &am)
	for _, d := range []v1.Hash{rep.Manifest.Digest, atts[0].Digest, am.Config.Digest, am.Layers[0].Digest, am.Layers[1].Digest} {
		if !strings.Contains(names, "blobs/sha256/"+d.Hex) {
			t.Errorf("OCI archive lacks %s: %s", d, names)
		}
	}
	// kiln load takes the index back, with its attestations
	st2, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	loaded, err := st2.Load(context.Background(), filepath.Join(out, "oci.tar"))
	if err != nil || len(loaded) != 1 {
		t.Fatalf("load: %v, %v", loaded, err)
	}
	if d, err := st2.Lookup(loaded[0]); err != nil || d.Digest != rep.Manifest.Digest {
		t.Errorf("loaded %v (%v), want the index %s", d.Digest, err, rep.Manifest.Digest)
	}
	if l, err := attest.List(st2, rep.Manifest.Digest); err != nil || len(l) != 2 || !st2.HasBlob(l[1].Digest) {
		t.Errorf("loaded attestations %+v, %v", l, err)
	}
	// the docker archive has the image alone, and a warning says so
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(filepath.Join(out, "docker.tar")) })
	if err != nil || len(m) != 1 || len(m[0].Layers) != 1 {
		t.Errorf("docker archive %+v, %v", m, err)
	}
	if !strings.Contains(recorded(rec), "not kept by docker archives") {
		t.Errorf("no warning about the docker archive: %s", recorded(rec))
	}
}

func recorded(rec *progress.Recorder) string {
	var b strings.Builder
	for _, e := range rec.Events() {
		if w, ok := e.(progress.Warning); ok {
			b.WriteString(w.Message + "\n")
		}
	}
	return b.String()
}

func TestAttestationsReproducible(t *testing.T) {
	var digests []string
	for range 2 {
		f := newFixture(t, multiStage)
		res := f.build(solver.WithBuildArgs(map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}))
		rep, err := export.Write(context.Background(), f.st, res, []export.Output{{Type: "image"}}, export.WithTags("app:1"), both)
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, rep.Manifest.Digest.String())
	}
	if digests[0] != digests[1] {
		t.Errorf("two stores, one commit, two digests: %v", digests)
	}
}

func TestAttestationFiles(t *testing.T) {
	f := newFixture(t, multiStage)
	res := f.build()
	out := t.TempDir()
	outs := []export.Output{{Type: "local", Dest: filepath.Join(out, "local")}, {Type: "tar", Dest: filepath.Join(out, "flat.tar")}}
	if _, err := export.Write(context.Background(), f.st, res, outs, export.WithTags("app:3"), both); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("built\n"))
	want := hex.EncodeToString(sum[:])
	check := func(where string, files map[string][]byte) {
		if len(files) != 2 || files["sbom.spdx.json"] == nil || files["provenance.json"] == nil {
			t.Fatalf("%s: statement files %v", where, keys(files))
		}
		var s attest.Statement
		if err := json.Unmarshal(files["provenance.json"], &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Subject) != 1 || s.Subject[0].Name != "app/artifact" || s.Subject[0].Digest["sha256"] != want || s.PredicateType != attest.PredicateSLSA1 {
			t.Errorf("%s: subjects %+v", where, s.Subject)
		}
	}
	local := map[string][]byte{}
	for _, n := range []string{"sbom.spdx.json", "provenance.json"} {
		if b, err := os.ReadFile(filepath.Join(out, "local", n)); err == nil {
			local[n] = b
		}
	}
	check("local", local)
	check("tar", tarFiles(t, filepath.Join(out, "flat.tar"), ".json"))
	if names := tarNames(t, filepath.Join(out, "flat.tar")); !strings.Contains(names, "app/artifact") {
		t.Errorf("flat tar: %s", names)
	}

	// an inline-only provenance stays out of files
	out2 := t.TempDir()
	inline := withAttestations(export.AttestFlags{Provenance: "mode=min,inline-only=true"})
	if _, err := export.Write(context.Background(), f.st, res, []export.Output{{Type: "local", Dest: out2}}, inline); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out2, "provenance.json")); err == nil {
		t.Error("an inline-only provenance was written to a local output")
	}
}

func tarFiles(t *testing.T, p, suffix string) map[string][]byte {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if strings.HasSuffix(h.Name, suffix) {
			b, _ := io.ReadAll(tr)
			out[h.Name] = b
		}
	}
	return out
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestAttestationsMultiPlatform(t *testing.T) {
	f := newFixture(t, "FROM scratch\nCOPY src.txt /src.txt\n")
	res := f.build(solver.WithPlatforms("linux/amd64,linux/arm64"))
	out := t.TempDir()
	outs := []export.Output{{Type: "image"}, {Type: "local", Dest: filepath.Join(out, "local")}, {Type: "tar", Dest: filepath.Join(out, "flat.tar")}}
	rep, err := export.Write(context.Background(), f.st, res, outs, export.WithTags("app:4"), both)
	if err != nil {
		t.Fatal(err)
	}
	// files: each platform's directory has its statements
	flat := tarFiles(t, filepath.Join(out, "flat.tar"), ".json")
	for _, p := range []string{"linux_amd64", "linux_arm64"} {
		for _, n := range []string{"sbom.spdx.json", "provenance.json"} {
			if _, err := os.Stat(filepath.Join(out, "local", p, n)); err != nil {
				t.Errorf("local output: %v", err)
			}
			if flat[p+"/"+n] == nil {
				t.Errorf("tar output lacks %s/%s: %v", p, n, keys(flat))
			}
		}
	}
	imgs, atts := readIndex(t, f.st, rep.Manifest.Digest)
	if len(imgs) != 2 || len(atts) != 2 {
		t.Fatalf("index: %d images, %d attestation manifests", len(imgs), len(atts))
	}
	list, _ := attest.List(f.st, rep.Manifest.Digest)
	for i, img := range imgs {
		if atts[i].Annotations[attest.RefDigestAnnotation] != img.Digest.String() {
			t.Errorf("attestation manifest %d is about %s, not %s", i, atts[i].Annotations[attest.RefDigestAnnotation], img.Digest)
		}
		var prov map[string]any
		for _, a := range list {
			if a.Subject == img.Digest && a.PredicateType == attest.PredicateSLSA1 {
				raw, _ := f.st.ReadBlob(a.Digest)
				json.Unmarshal(raw, &prov)
			}
		}
		want := img.Platform.OS + "/" + img.Platform.Architecture
		if got := at(prov, "predicate", "buildDefinition", "internalParameters", "targetPlatform"); got != want {
			t.Errorf("image %s: provenance's target platform %v, want %s", want, got, want)
		}
	}
}
