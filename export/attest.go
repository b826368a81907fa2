package export

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/attest"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/store"
)

// Attestations: with WithAttestations, the committed image becomes an
// OCI image index holding, beside each platform's image manifest, an
// attestation manifest with an SBOM and/or a provenance statement about
// it (BuildKit's layout, see package attest). The store, a push and an
// OCI archive get the index; docker archives and --load get the image
// alone (as buildx), local and tar outputs get the statements as files
// beside the root filesystem (see attestfiles.go).

// AttestFlags are kiln build's attestation flags, as buildx takes them.
type AttestFlags struct {
	Attest     []string // --attest type=sbom|provenance,KEY=VALUE,…
	SBOM       string   // --sbom true|false|generator=…
	Provenance string   // --provenance true|false|mode=min|max,…
}

// ParseAttestations reads the attestation flags, so that a mistake in
// them is reported before the build rather than after it.
func ParseAttestations(f AttestFlags) (attest.Spec, error) {
	return attest.ParseFlags(f.Attest, f.SBOM, f.Provenance)
}

// WithAttestations attaches the attestations spec asks for (none by
// default).
func WithAttestations(spec attest.Spec) Option {
	return func(o *options) error { o.attest = spec; return nil }
}

// attestNames are the names the statements' subjects take: every name
// an output that commits the image gives it.
func (w *writer) attestNames(outs []Output) ([]string, error) {
	var names []string
	for _, out := range outs {
		if !out.NeedsCommit() {
			continue
		}
		if out.Name == "" {
			names = append(names, w.o.tags...)
			continue
		}
		n, err := store.Normalize(out.Name)
		if err != nil {
			return nil, fmt.Errorf("--output name=%s: %w", out.Name, err)
		}
		names = append(names, n)
	}
	return dedupe(names), nil
}

// attach puts the attestations of the committed image (or of each image
// of a multi-platform index) into an index, which becomes what the
// outputs name, push and archive.
func (w *writer) attach(ctx context.Context, outs []Output) error {
	names, err := w.attestNames(outs)
	if err != nil {
		return err
	}
	step := progress.Start(w.o.sink, progress.StepInfo{Name: "attaching attestations"})
	err = w.attachIndex(ctx, names)
	step.Done(err)
	return err
}

func (w *writer) attachIndex(ctx context.Context, names []string) error {
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Annotations: w.o.annotations["index"]}
	results := []*solver.Result{w.res}
	if w.multi() {
		idx = w.index
		results = w.res.Platforms
	} else {
		d := w.rep.Manifest
		d.Platform = platformOf(w.res)
		idx.Manifests = []v1.Descriptor{d}
	}
	if len(idx.Manifests) != len(results) {
		return fmt.Errorf("the index lists %d images for %d platforms", len(idx.Manifests), len(results))
	}
	vcs := w.vcs(ctx)
	var atts []v1.Descriptor
	for i, pr := range results {
		stmts, err := w.statements(ctx, pr, idx.Manifests[i], names, vcs)
		if err != nil {
			return err
		}
		d, err := attest.Put(w.st, idx.Manifests[i], stmts)
		if err != nil {
			return err
		}
		atts = append(atts, d)
	}
	idx.Manifests = append(idx.Manifests, atts...) // after every image, as BuildKit
	return w.putIndex(idx)                         // as BuildKit: an attested image is named by its index
}

// putIndex stores idx and makes it the image the outputs get, named (its
// image ID) by its digest.
func (w *writer) putIndex(idx v1.IndexManifest) error {
	raw, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	d, err := w.st.WriteBlobBytes(raw)
	if err != nil {
		return err
	}
	w.rep.Manifest = v1.Descriptor{MediaType: types.OCIImageIndex, Digest: d, Size: int64(len(raw)),
		Annotations: w.o.annotations["index-descriptor"]}
	w.rep.ImageID = d.String()
	return nil
}

// vcs is what git says of the context, when a provenance wants it.
func (w *writer) vcs(ctx context.Context) map[string]string {
	if w.o.attest.Provenance == nil {
		return nil
	}
	return solver.ContextVCS(ctx, w.res.Request)
}

// statements makes the attestations of one platform's committed image
// (manifest): the SBOM from its layers, the provenance from the build.
func (w *writer) statements(ctx context.Context, pr *solver.Result, manifest v1.Descriptor, names []string,
	vcs map[string]string) ([]attest.Statement, error) {
	subjects, err := attest.ImageSubjects(names, manifest.Platform, manifest.Digest)
	if err != nil {
		return nil, err
	}
	m, err := readImageManifest(w.st, manifest.Digest)
	if err != nil {
		return nil, err
	}
	var cat *attest.Catalog
	if w.o.attest.SBOM != nil {
		cat = attest.NewCatalog()
		for _, l := range m.Layers {
			if err := catalogBlob(ctx, w.st, cat, l.Digest); err != nil {
				return nil, fmt.Errorf("SBOM: layer %s: %w", l.Digest, err)
			}
		}
	}
	return w.makeStatements(pr, cat, m.Layers, names, manifest, subjects, vcs, true)
}

// makeStatements wraps the SBOM of what cat catalogued (with an SBOM) and
// the provenance of pr's build in statements about subjects. image is
// the image manifest (zero for files); layers its layers, for a
// provenance's per-step layers. inline is false for local and tar
// outputs, which leave out an inline-only provenance.
func (w *writer) makeStatements(pr *solver.Result, cat *attest.Catalog, layers []v1.Descriptor, names []string,
	image v1.Descriptor, subjects []attest.Subject, vcs map[string]string, inline bool) ([]attest.Statement, error) {
	var stmts []attest.Statement
	if cat != nil {
		s, err := w.sbomStatement(pr, cat, names, image, subjects)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, s)
	}
	if p := w.o.attest.Provenance; p != nil && (inline || !p.InlineOnly) {
		b, err := provenanceBuild(pr, layers, vcs)
		if err != nil {
			return nil, err
		}
		if p.CompleteMaterials && !b.Complete {
			return nil, fmt.Errorf("--provenance complete-materials=true: the build has inputs without a digest (its local context)")
		}
		s, err := attest.NewStatement(attest.PredicateSLSA1, attest.Provenance(b, *p), subjects)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, s)
	}
	return stmts, nil
}

// sbomStatement writes the catalogued packages as an SPDX statement.
func (w *writer) sbomStatement(pr *solver.Result, cat *attest.Catalog, names []string, image v1.Descriptor,
	subjects []attest.Subject) (attest.Statement, error) {
	o := attest.SBOMOptions{Created: fileTime(pr)}
	if image.Digest != (v1.Hash{}) {
		o.Version = image.Digest.String()
	}
	if len(names) > 0 {
		o.Name = names[0]
		o.PURL, _ = attest.DockerPURL(names[0], platformOf(pr))
	}
	doc, err := attest.SPDX(cat.Packages(), o)
	if err != nil {
		return attest.Statement{}, err
	}
	return attest.NewStatement(attest.PredicateSPDX, json.RawMessage(doc), subjects)
}

func readImageManifest(st *store.Store, d v1.Hash) (*v1.Manifest, error) {
	img, err := st.Image(d)
	if err != nil {
		return nil, err
	}
	return img.Manifest()
}

// catalogBlob feeds one layer blob to the cataloguer.
func catalogBlob(ctx context.Context, st *store.Store, cat *attest.Catalog, d v1.Hash) error {
	f, err := st.OpenBlob(d)
	if err != nil {
		return err
	}
	defer f.Close()
	rc, err := archive.Decompress(f)
	if err != nil {
		return err
	}
	defer rc.Close()
	return cat.Layer(ctx, rc)
}

// dockerImage is the image a docker archive or --load gets: the image
// itself, not the index its attestations made. An index of several
// platforms has no one image.
func dockerImage(st *store.Store, desc v1.Descriptor) (v1.Descriptor, error) {
	if !desc.MediaType.IsIndex() {
		return desc, nil
	}
	raw, err := st.ReadBlob(desc.Digest)
	if err != nil {
		return desc, err
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil {
		return desc, err
	}
	var imgs []v1.Descriptor
	for _, d := range idx.Manifests {
		if !attest.IsAttestation(d) && !d.MediaType.IsIndex() {
			imgs = append(imgs, d)
		}
	}
	if len(imgs) != 1 {
		return desc, fmt.Errorf("a docker archive holds one platform's image, not an index of %d: "+
			"use an OCI archive, a push, or one --platform", len(imgs))
	}
	return imgs[0], nil
}

// warnAttestations says what becomes of the attestations where they
// cannot go: the spec's own warnings, and docker archives and --load,
// which get the image without them (as buildx).
func (w *writer) warnAttestations(outs []Output) {
	if !w.o.attest.Any() {
		return
	}
	for _, m := range w.o.attest.Warnings {
		w.o.sink.Event(progress.Warning{Message: m})
	}
	for _, out := range outs {
		if out.Type == "docker" {
			w.o.sink.Event(progress.Warning{Message: "attestations are not kept by docker archives and --load: " +
				"they get the image alone (use --push or -o type=oci for the attestations)"})
			return
		}
	}
}
