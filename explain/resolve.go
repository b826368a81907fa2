package explain

import (
	"encoding/json"
	"fmt"
	"io"
	goruntime "runtime"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/attest"
	"github.com/kiln-build/kiln/store"
)

// Resolve finds the image ref names in st: an image name, a manifest or
// index digest ("sha256:…") or an image ID (a config's digest). It
// returns the digest as stored: for a multi-platform image, its index's
// (AnalyzeDigest explains one platform of it, Check checks them all).
func Resolve(st *store.Store, ref string) (v1.Hash, error) {
	if h, err := v1.NewHash(ref); err == nil {
		return resolveHash(st, h)
	}
	if name, dig, ok := strings.Cut(ref, "@"); ok && name != "" {
		if h, err := v1.NewHash(dig); err == nil {
			return resolveHash(st, h)
		}
	}
	n, err := store.Normalize(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	desc, err := st.Lookup(n)
	if err != nil {
		return v1.Hash{}, err
	}
	return desc.Digest, nil
}

func resolveHash(st *store.Store, h v1.Hash) (v1.Hash, error) {
	if isManifest(st, h) { // a manifest or an index, named or not (the last build's)
		return h, nil
	}
	imgs, err := st.Images()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, im := range imgs { // an image ID: a config's digest, of an image or of an image in an index
		list, _, err := images(st, im.Descriptor.Digest)
		if err != nil {
			continue
		}
		for _, x := range list {
			if m, err := readManifest(st, x.digest); err == nil && m.Config.Digest == h {
				return x.digest, nil
			}
		}
	}
	return v1.Hash{}, fmt.Errorf("%w: image %s", store.ErrNotFound, h)
}

// isManifest reports whether the blob h is an image manifest or an index
// (not a config or a layer).
func isManifest(st *store.Store, h v1.Hash) bool {
	f, err := st.OpenBlob(h)
	if err != nil {
		return false
	}
	defer f.Close()
	var m struct {
		SchemaVersion int `json:"schemaVersion"`
	}
	return json.NewDecoder(io.LimitReader(f, 4<<20)).Decode(&m) == nil && m.SchemaVersion == 2
}

func readManifest(st *store.Store, d v1.Hash) (*v1.Manifest, error) {
	raw, err := st.ReadBlob(d)
	if err != nil {
		return nil, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("explain: manifest %s: %w", d, err)
	}
	return &m, nil
}

// platformImage is one image of an index, or an image on its own
// (platform "").
type platformImage struct {
	digest   v1.Hash
	platform string
}

// images lists the images of the index d with their platforms, or d
// itself when it is an image.
func images(st *store.Store, d v1.Hash) ([]platformImage, bool, error) {
	raw, err := st.ReadBlob(d)
	if err != nil {
		return nil, false, fmt.Errorf("explain: %w", err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(raw, &idx); err != nil || !idx.MediaType.IsIndex() {
		return []platformImage{{digest: d}}, false, nil
	}
	var out []platformImage
	for _, m := range idx.Manifests {
		if attest.IsAttestation(m) {
			continue // an SBOM or a provenance, not a platform's image
		}
		if m.MediaType.IsImage() || m.MediaType == "" {
			out = append(out, platformImage{digest: m.Digest, platform: formatPlatform(m.Platform)})
		}
	}
	if len(out) == 0 {
		return nil, true, fmt.Errorf("explain: index %s lists no image", d)
	}
	return out, true, nil
}

// pick chooses the image of platform want ("os/arch[/variant]"; "" means
// this machine's, else the first).
func pick(imgs []platformImage, want string) (platformImage, error) {
	if want == "" {
		want = "linux/" + goruntime.GOARCH
		for _, im := range imgs {
			if im.platform == want || strings.HasPrefix(im.platform, want+"/") {
				return im, nil
			}
		}
		return imgs[0], nil
	}
	var have []string
	for _, im := range imgs {
		if im.platform == want {
			return im, nil
		}
		have = append(have, im.platform)
	}
	return platformImage{}, fmt.Errorf("%w: no %s image in the index (it has %s)", store.ErrNotFound, want, strings.Join(have, ", "))
}

func formatPlatform(p *v1.Platform) string {
	if p == nil || p.OS == "" && p.Architecture == "" {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}
