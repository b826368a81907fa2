package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/store"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// ResolveConfig returns the config of the image ref names without
// fetching or extracting its layers (for checks that only read it, such
// as lint rules): from an image already resolved, the store, a named
// context, or the registry.
func (r *Resolver) ResolveConfig(ctx context.Context, ref string) (*dockerspec.DockerOCIImage, error) {
	r.mu.Lock()
	im, ok := r.cache[ref]
	r.mu.Unlock()
	if ok {
		c := im.Clone().Config
		return &c, nil
	}
	if img, ok, err := r.namedContext(ctx, ref); ok {
		if err != nil {
			return nil, err
		}
		return &img.Config, nil
	}
	if ref == "scratch" {
		return &Scratch().Config, nil
	}
	full, err := store.Normalize(ref)
	if err != nil {
		return nil, err
	}
	var img v1.Image
	if desc, err := r.st.Lookup(full); err == nil && !r.pull {
		if img, err = r.st.Image(desc.Digest); err != nil {
			return nil, err
		}
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	} else {
		nref, err := name.ParseReference(ref)
		if err != nil {
			return nil, err
		}
		os, arch, variant := plan.Platform()
		img, err = remote.Image(nref, remote.WithContext(ctx), remote.WithAuthFromKeychain(r.keychain),
			remote.WithPlatform(v1.Platform{OS: os, Architecture: arch, Variant: variant}))
		if err != nil {
			return nil, fmt.Errorf("pulling %s: %w", ref, err)
		}
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	var c dockerspec.DockerOCIImage
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%s: parsing config: %w", ref, err)
	}
	return &c, nil
}
