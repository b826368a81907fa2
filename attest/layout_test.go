package attest

import (
	"encoding/json"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/store"
)

func TestPutAndList(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	img := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}`)
	id, _ := st.WriteBlobBytes(img)
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: id, Size: int64(len(img)),
		Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}
	subjects, _ := ImageSubjects([]string{"example.com/app:1"}, subject.Platform, id)
	sbom, _ := NewStatement(PredicateSPDX, json.RawMessage(`{"spdxVersion":"SPDX-2.3"}`), subjects)
	prov, _ := NewStatement(PredicateSLSA1, map[string]any{"buildDefinition": map[string]any{}}, subjects)
	d, err := Put(st, subject, []Statement{sbom, prov})
	if err != nil {
		t.Fatal(err)
	}
	// the descriptor, as BuildKit puts it in the index
	if d.MediaType != types.OCIManifestSchema1 || d.Platform == nil || d.Platform.OS != "unknown" || d.Platform.Architecture != "unknown" ||
		d.Annotations[RefTypeAnnotation] != "attestation-manifest" || d.Annotations[RefDigestAnnotation] != id.String() || !IsAttestation(d) {
		t.Errorf("descriptor %+v", d)
	}
	if IsAttestation(subject) {
		t.Error("an image is taken for an attestation")
	}
	// the manifest
	raw, _ := st.ReadBlob(d.Digest)
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.ArtifactType != "application/vnd.docker.attestation.manifest.v1+json" || m.Config.MediaType != "application/vnd.oci.empty.v1+json" ||
		string(m.Config.Data) != "{}" || m.Config.Digest.String() != "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" ||
		m.Subject == nil || m.Subject.Digest != id || m.Subject.Platform != nil {
		t.Errorf("manifest %s", raw)
	}
	if !st.HasBlob(m.Config.Digest) {
		t.Error("the empty config blob is not in the store")
	}
	if len(m.Layers) != 2 || m.Layers[0].MediaType != "application/vnd.in-toto+json" ||
		m.Layers[0].Annotations["in-toto.io/predicate-type"] != PredicateSPDX || m.Layers[1].Annotations["in-toto.io/predicate-type"] != PredicateSLSA1 {
		t.Errorf("layers %+v", m.Layers)
	}
	// a statement, as BuildKit writes it
	var stmt map[string]any
	sraw, _ := st.ReadBlob(m.Layers[0].Digest)
	json.Unmarshal(sraw, &stmt)
	subj := stmt["subject"].([]any)[0].(map[string]any)
	if stmt["_type"] != "https://in-toto.io/Statement/v1" || subj["name"] != "pkg:docker/example.com/app@1?platform=linux%2Famd64" ||
		subj["digest"].(map[string]any)["sha256"] != id.Hex {
		t.Errorf("statement %s", sraw)
	}

	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Manifests: []v1.Descriptor{subject, d}}
	iraw, _ := json.Marshal(idx)
	ih, _ := st.WriteBlobBytes(iraw)
	list, err := List(st, ih)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Subject != id || list[0].PredicateType != PredicateSPDX || list[1].PredicateType != PredicateSLSA1 ||
		list[0].Manifest != d.Digest || list[1].Size != m.Layers[1].Size {
		t.Errorf("list %+v", list)
	}
	if got, _ := List(st, id); got != nil {
		t.Errorf("an image manifest lists %v", got)
	}
	s, err := ReadStatement(st, list[1].Digest)
	if err != nil || s.PredicateType != PredicateSLSA1 {
		t.Errorf("statement %+v, %v", s, err)
	}
}

func TestImageSubjectsWithoutNames(t *testing.T) {
	s, err := ImageSubjects(nil, nil, v1.Hash{Algorithm: "sha256", Hex: "00"})
	if err != nil || s == nil || len(s) != 0 {
		t.Errorf("subjects %v, %v: want an empty list (BuildKit's \"subject\": [])", s, err)
	}
	st, _ := NewStatement(PredicateSPDX, struct{}{}, nil)
	if b, _ := json.Marshal(st); string(b) != `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{}}` {
		t.Errorf("statement %s", b)
	}
}
