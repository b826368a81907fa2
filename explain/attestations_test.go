package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/attest"
)

// TestAttestedImage: an image with attestations (an index of the image
// and its attestation manifest) is explained as the image, with a line
// per attestation; Check does not take the attestation manifest for a
// platform's image; the JSON's attestations[] fields are documented.
func TestAttestedImage(t *testing.T) {
	st := newStore(t)
	ti := sampleImage(t)
	ti.name = ""
	d := ti.put(t, st)
	raw, _ := st.ReadBlob(d)
	img := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw)), Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}
	subjects, _ := attest.ImageSubjects([]string{"example.com/app:1"}, img.Platform, d)
	sbom, _ := attest.NewStatement(attest.PredicateSPDX, json.RawMessage(`{"spdxVersion":"SPDX-2.3","packages":[
		{"name":"example.com/app:1","primaryPackagePurpose":"CONTAINER"},
		{"name":"libc6","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:deb/debian/libc6@2.36"}]},
		{"name":"stdlib","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:golang/stdlib@1.26.0"}]},
		{"name":"golang.org/x/sync","externalRefs":[{"referenceType":"purl","referenceLocator":"pkg:golang/golang.org/x/sync@v0.1.0"}]}]}`), subjects)
	prov, _ := attest.NewStatement(attest.PredicateSLSA1, json.RawMessage(`{"buildDefinition":{"resolvedDependencies":[{"uri":"pkg:docker/busybox@latest"}],
		"internalParameters":{"buildConfig":{"steps":[]}}}}`), subjects)
	ad, err := attest.Put(st, img, []attest.Statement{sbom, prov})
	if err != nil {
		t.Fatal(err)
	}
	iraw, _ := json.Marshal(v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{img, ad}})
	idx, _ := st.WriteBlobBytes(iraw)
	if err := st.Tag("example.com/app:1", v1.Descriptor{MediaType: types.OCIImageIndex, Digest: idx, Size: int64(len(iraw))}); err != nil {
		t.Fatal(err)
	}

	rep, err := Analyze(context.Background(), st, "example.com/app:1")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Digest != d.String() || rep.Platform != "linux/amd64" || len(rep.Notes) != 0 {
		t.Errorf("explained %s (%s), notes %q; want the image %s", rep.Digest, rep.Platform, rep.Notes, d)
	}
	if len(rep.Attestations) != 2 || rep.Attestations[0].Type != "sbom" || rep.Attestations[0].Summary != "3 packages: deb 1, golang 2" ||
		rep.Attestations[1].Type != "provenance" || rep.Attestations[1].Summary != "mode=max, 1 resolved dependency" ||
		rep.Attestations[1].Manifest != ad.Digest.String() {
		t.Errorf("attestations %+v", rep.Attestations)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ATTESTATION  PREDICATE", "sbom         https://spdx.dev/Document", "provenance   https://slsa.dev/provenance/v1"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	// every attestations[] field of the JSON is documented
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var v any
	json.Unmarshal(js.Bytes(), &v)
	keys := map[string]bool{}
	collectKeys(v, "", keys)
	doc, _ := os.ReadFile("../docs/explain.md")
	for k := range keys {
		if strings.HasPrefix(k, "attestations") && !regexp.MustCompile("`"+regexp.QuoteMeta(k)+"`").Match(doc) {
			t.Errorf("docs/explain.md does not document %s", k)
		}
	}

	// Check reads the image, not the attestation manifest, and its
	// warnings name no platform: the image has one
	ws, err := Check(context.Background(), st, idx)
	if err != nil || len(ws) == 0 {
		t.Errorf("Check on an attested image: %v, %v", ws, err)
	}
	for _, w := range ws {
		if w.Platform != "" {
			t.Errorf("warning %s names the platform %q", w.Rule, w.Platform)
		}
	}
	// the image ID (config digest) finds the image inside the index
	m, _ := readManifest(st, d)
	if got, err := Resolve(st, m.Config.Digest.String()); err != nil || got != d {
		t.Errorf("Resolve(image ID) = %v, %v; want %s", got, err, d)
	}
}
