package source

import (
	"bytes"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/store"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Resolved is an image a build used (a FROM, a COPY --from or a RUN
// --mount from= image), as a provenance lists its materials.
type Resolved struct {
	// Name is the image as the build named it (a Dockerfile's FROM or
	// --from, or the name of a named context).
	Name string
	// Ref is the image's reference: as the Dockerfile names it, or the
	// docker-image:// or oci-layout:// value of the named context that
	// replaced it.
	Ref      string
	Platform ocispecs.Platform // the platform it was resolved for
	// Digest is what Ref resolved to: the digest of the index the image
	// was picked from when the store keeps that index under Ref's name,
	// else the image manifest's; zero for a directory.
	Digest v1.Hash
	// Layout is set for an oci-layout:// context, Dir for a directory
	// context (the name of the context, which has no digest).
	Layout bool
	Dir    string
}

// Resolved lists the images r resolved, sorted by reference and platform.
// scratch is none.
func (r *Resolver) Resolved() []Resolved {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Resolved
	for key, img := range r.cache {
		ref, ps, _ := strings.Cut(key, "|")
		if strings.EqualFold(ref, "scratch") {
			continue
		}
		plat, err := dockerfile.ParsePlatform(ps)
		if err != nil {
			plat = ocispecs.Platform{OS: img.Config.OS, Architecture: img.Config.Architecture, Variant: img.Config.Variant}
		}
		res := Resolved{Name: ref, Ref: ref, Platform: plat, Digest: img.Digest}
		if v, ok := r.contexts[plan.ContextName(ref)]; ok && !strings.HasPrefix(v, "target:") {
			switch {
			case strings.HasPrefix(v, "docker-image://"):
				res.Ref = strings.TrimPrefix(v, "docker-image://")
			case strings.HasPrefix(v, "oci-layout://"):
				res.Ref, res.Layout = v, true
			default:
				res.Dir, res.Digest = ref, v1.Hash{}
			}
		}
		if !res.Layout && res.Dir == "" {
			if d, ok := indexOf(r.st, res.Ref, img.Digest); ok {
				res.Digest = d
			}
		}
		out = append(out, res)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Ref != out[j].Ref {
			return out[i].Ref < out[j].Ref
		}
		return dockerfile.FormatPlatform(out[i].Platform) < dockerfile.FormatPlatform(out[j].Platform)
	})
	return out
}

// indexOf finds the index ref resolved to, when the image manifest m was
// picked from one: the digest a "name@sha256:…" reference gives, or the
// index the store keeps under the name.
func indexOf(st *store.Store, ref string, m v1.Hash) (v1.Hash, bool) {
	if r, err := name.ParseReference(ref); err == nil {
		if d, ok := r.(name.Digest); ok {
			h, err := v1.NewHash(d.DigestStr())
			return h, err == nil && h != m
		}
	}
	full, err := store.Normalize(ref)
	if err != nil {
		return v1.Hash{}, false
	}
	desc, err := st.Lookup(full)
	if err != nil || !desc.MediaType.IsIndex() {
		return v1.Hash{}, false
	}
	raw, err := st.ReadBlob(desc.Digest)
	if err != nil {
		return v1.Hash{}, false
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, false
	}
	for _, d := range im.Manifests {
		if d.Digest == m {
			return desc.Digest, true
		}
	}
	return v1.Hash{}, false
}
