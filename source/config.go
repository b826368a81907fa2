package source

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/store"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// ResolveConfig returns the config of the image ref names without
// fetching or extracting its layers (for checks that only read it, such
// as lint rules): from an image already resolved, the store, a named
// context, or the registry.
func (r *Resolver) ResolveConfig(ctx context.Context, ref string, plat ocispecs.Platform) (*dockerspec.DockerOCIImage, error) {
	r.mu.Lock()
	im, ok := r.cache[ref+"|"+dockerfile.FormatPlatform(plat)]
	r.mu.Unlock()
	if ok {
		c := im.Clone().Config
		return &c, nil
	}
	if img, ok, err := r.namedContext(ctx, ref, plat); ok {
		if err != nil {
			return nil, err
		}
		return &img.Config, nil
	}
	if ref == "scratch" {
		return &Scratch(plat).Config, nil
	}
	full, err := store.Normalize(ref)
	if err != nil {
		return nil, err
	}
	var img v1.Image
	if !r.pull {
		if img, err = r.fromStore(full, plat); err != nil {
			return nil, err
		}
	}
	if img == nil {
		nref, err := name.ParseReference(ref)
		if err != nil {
			return nil, err
		}
		img, err = remote.Image(nref, remote.WithContext(ctx), remote.WithAuthFromKeychain(r.keychain),
			remote.WithPlatform(v1.Platform{OS: plat.OS, Architecture: plat.Architecture, Variant: plat.Variant}))
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
