package attest

import (
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/store"
)

// Annotations and types of BuildKit's attestation layout.
const (
	RefTypeAnnotation       = "vnd.docker.reference.type"
	RefDigestAnnotation     = "vnd.docker.reference.digest"
	RefTypeAttestation      = "attestation-manifest"
	PredicateTypeAnnotation = "in-toto.io/predicate-type"
	ManifestArtifactType    = "application/vnd.docker.attestation.manifest.v1+json"
	emptyJSONType           = "application/vnd.oci.empty.v1+json"
)

// Platform is the platform of an attestation manifest in an index, so
// that no runtime mistakes it for an image.
var Platform = v1.Platform{OS: "unknown", Architecture: "unknown"}

// IsAttestation reports whether d, an entry of an image index, is an
// attestation manifest rather than an image: by its reference type, or
// by the unknown/unknown platform BuildKit gives it.
func IsAttestation(d v1.Descriptor) bool {
	if t, ok := d.Annotations[RefTypeAnnotation]; ok {
		return t == RefTypeAttestation
	}
	return d.Platform != nil && d.Platform.OS == Platform.OS && d.Platform.Architecture == Platform.Architecture
}

// manifest is an attestation manifest, its fields in BuildKit's order.
type manifest struct {
	SchemaVersion int64           `json:"schemaVersion"`
	MediaType     types.MediaType `json:"mediaType"`
	ArtifactType  string          `json:"artifactType"`
	Config        v1.Descriptor   `json:"config"`
	Layers        []v1.Descriptor `json:"layers"`
	Subject       *v1.Descriptor  `json:"subject,omitempty"`
}

// Put stores stmts as the attestation manifest of the image manifest
// subject, as BuildKit lays it out (see the package doc), and returns the
// manifest's descriptor for the image index: platform unknown/unknown,
// annotated with the reference type and the subject's digest.
func Put(st *store.Store, subject v1.Descriptor, stmts []Statement) (v1.Descriptor, error) {
	empty := []byte("{}")
	ed, err := st.WriteBlobBytes(empty)
	if err != nil {
		return v1.Descriptor{}, err
	}
	m := manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: ManifestArtifactType,
		Config:  v1.Descriptor{MediaType: emptyJSONType, Digest: ed, Size: int64(len(empty)), Data: empty},
		Layers:  []v1.Descriptor{},
		Subject: &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}}
	for _, s := range stmts {
		raw, err := json.Marshal(s)
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("attest: %w", err)
		}
		d, err := st.WriteBlobBytes(raw)
		if err != nil {
			return v1.Descriptor{}, err
		}
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: PayloadType, Digest: d, Size: int64(len(raw)),
			Annotations: map[string]string{PredicateTypeAnnotation: s.PredicateType}})
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("attest: %w", err)
	}
	d, err := st.WriteBlobBytes(raw)
	if err != nil {
		return v1.Descriptor{}, err
	}
	p := Platform
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: d, Size: int64(len(raw)), Platform: &p,
		Annotations: map[string]string{RefTypeAnnotation: RefTypeAttestation, RefDigestAnnotation: subject.Digest.String()}}, nil
}

// Attestation is one statement attached to an image in an index.
type Attestation struct {
	Subject       v1.Hash // the image manifest it is about
	Manifest      v1.Hash // the attestation manifest holding it
	PredicateType string
	Digest        v1.Hash // the statement's blob
	Size          int64
}

// List finds the attestations in the index whose manifest is the blob
// index, in the order the index and its attestation manifests list them.
// An index without attestations (or an image manifest) has none.
func List(st *store.Store, index v1.Hash) ([]Attestation, error) {
	raw, err := st.ReadBlob(index)
	if err != nil {
		return nil, err
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil || !idx.MediaType.IsIndex() {
		return nil, nil
	}
	var out []Attestation
	for _, d := range idx.Manifests {
		if !IsAttestation(d) {
			continue
		}
		mraw, err := st.ReadBlob(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("attest: attestation manifest %s: %w", d.Digest, err)
		}
		var m v1.Manifest
		if err := json.Unmarshal(mraw, &m); err != nil {
			return nil, fmt.Errorf("attest: attestation manifest %s: %w", d.Digest, err)
		}
		subject, _ := v1.NewHash(d.Annotations[RefDigestAnnotation])
		if subject == (v1.Hash{}) && m.Subject != nil {
			subject = m.Subject.Digest
		}
		for _, l := range m.Layers {
			if l.MediaType != PayloadType {
				continue // unknown kinds are to be ignored
			}
			pt := l.Annotations[PredicateTypeAnnotation]
			if pt == "" {
				if s, err := ReadStatement(st, l.Digest); err == nil {
					pt = s.PredicateType
				}
			}
			out = append(out, Attestation{Subject: subject, Manifest: d.Digest, PredicateType: pt, Digest: l.Digest, Size: l.Size})
		}
	}
	return out, nil
}

// ReadStatement reads the statement in the blob d.
func ReadStatement(st *store.Store, d v1.Hash) (*Statement, error) {
	raw, err := st.ReadBlob(d)
	if err != nil {
		return nil, err
	}
	var s Statement
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("attest: statement %s: %w", d, err)
	}
	return &s, nil
}
