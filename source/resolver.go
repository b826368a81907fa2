package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/registry"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/store"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/singleflight"
)

// Resolver finds images and makes their layers available as snapshots.
type Resolver struct {
	st       *store.Store
	snaps    snapshot.Snapshotter
	keychain authn.Keychain
	sink     progress.Sink
	flight   singleflight.Group
	mu       sync.Mutex
	cache    map[string]*image.Image
	pull     bool
	contexts map[string]string // named build contexts
	registry []registry.Option // retry policy and transport of pulls
}

// Option configures a Resolver.
type Option func(*Resolver)

// WithProgress sends notes ("pulling …") to sink.
func WithProgress(sink progress.Sink) Option { return func(r *Resolver) { r.sink = progress.Or(sink) } }

// WithPull makes named images always resolve against their registry, even
// when the store has them (kiln build --pull).
func WithPull() Option { return func(r *Resolver) { r.pull = true } }

// WithRegistryOptions changes how pulls retry (registry.WithBackoff) or
// which transport they use (registry.WithTransport).
func WithRegistryOptions(opts ...registry.Option) Option {
	return func(r *Resolver) { r.registry = append(r.registry, opts...) }
}

// WithKeychain sets registry credentials (default: docker config and helpers).
func WithKeychain(k authn.Keychain) Option { return func(r *Resolver) { r.keychain = k } }

// New makes a Resolver over st, extracting layers into sn.
func New(st *store.Store, sn snapshot.Snapshotter, opts ...Option) *Resolver {
	r := &Resolver{st: st, snaps: sn, keychain: authn.DefaultKeychain, sink: progress.Discard, cache: map[string]*image.Image{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Resolve returns the image ref names for platform plat, with every
// layer extracted. An index (a multi-platform image) gives the manifest
// for plat. Two concurrent calls for one ref and platform do the work once.
func (r *Resolver) Resolve(ctx context.Context, ref string, plat ocispecs.Platform) (*image.Image, error) {
	key := ref + "|" + dockerfile.FormatPlatform(plat)
	r.mu.Lock()
	if im, ok := r.cache[key]; ok {
		r.mu.Unlock()
		return im.Clone(), nil
	}
	r.mu.Unlock()
	v, err, _ := r.flight.Do(key, func() (any, error) {
		im, err := r.resolve(ctx, ref, plat)
		if err == nil {
			r.mu.Lock()
			r.cache[key] = im
			r.mu.Unlock()
		}
		return im, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*image.Image).Clone(), nil
}

func (r *Resolver) resolve(ctx context.Context, ref string, plat ocispecs.Platform) (*image.Image, error) {
	if strings.EqualFold(ref, "scratch") {
		return Scratch(plat), nil
	}
	if img, ok, err := r.namedContext(ctx, ref, plat); ok {
		return img, err
	}
	if strings.HasPrefix(ref, "oci-layout://") {
		// as BuildKit: a Dockerfile may not read host directories itself
		return nil, fmt.Errorf("%s: an OCI layout on the host is used through a named context: --build-context NAME=%s, then FROM NAME", ref, ref)
	}
	full, err := store.Normalize(ref)
	if err != nil {
		return nil, err
	}
	if !r.pull {
		img, err := r.fromStore(full, plat)
		if err != nil {
			return nil, fmt.Errorf("reading %s from the store: %w", ref, err)
		}
		if img != nil {
			return r.load(ctx, img, ref)
		}
	}
	return r.pullImage(ctx, ref, full, plat)
}

// fromStore is the image named full for plat when the store has it: the
// image itself, or its manifest for plat from an index. It returns nil
// (and no error) when the registry must be asked.
func (r *Resolver) fromStore(full string, plat ocispecs.Platform) (v1.Image, error) {
	desc, err := r.st.Lookup(full)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if desc.MediaType.IsIndex() {
		d, ok, err := r.manifestFor(desc.Digest, plat)
		if err != nil || !ok || !r.st.HasBlob(d) {
			return nil, err // (nil, nil: that platform's manifest was never pulled)
		}
		return r.st.Image(d)
	}
	img, err := r.st.Image(desc.Digest)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	if cf.Architecture != "" && !dockerfile.SamePlatform(imagePlatform(cf), plat) {
		return nil, nil // the store has it for another platform
	}
	return img, nil
}

// manifestFor finds plat's manifest in the stored index d.
func (r *Resolver) manifestFor(d v1.Hash, plat ocispecs.Platform) (v1.Hash, bool, error) {
	raw, err := r.st.ReadBlob(d)
	if err != nil {
		return v1.Hash{}, false, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return v1.Hash{}, false, err
	}
	for _, m := range im.Manifests {
		if m.Platform != nil && !m.MediaType.IsIndex() && dockerfile.SamePlatform(ocispecs.Platform{OS: m.Platform.OS,
			Architecture: m.Platform.Architecture, Variant: m.Platform.Variant}, plat) {
			return m.Digest, true, nil
		}
	}
	return v1.Hash{}, false, nil
}

// pullImage resolves ref against its registry for plat, keeping what it
// pulled under its name (an index with the manifests pulled so far).
func (r *Resolver) pullImage(ctx context.Context, ref, full string, plat ocispecs.Platform) (*image.Image, error) {
	nref, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	progress.Notef(r.sink, "resolving %s", full)
	img, idx, err := r.remoteImage(ctx, nref, plat, ref)
	if err != nil {
		return nil, err
	}
	if idx == nil {
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("pulling %s: %w", ref, err)
		}
		if cf.Architecture != "" && !dockerfile.SamePlatform(imagePlatform(cf), plat) {
			return nil, fmt.Errorf("%s is an image for %s only, not %s", ref, dockerfile.FormatPlatform(imagePlatform(cf)),
				dockerfile.FormatPlatform(plat))
		}
	}
	out, err := r.load(ctx, img, ref)
	if err != nil {
		return nil, err
	}
	// keep the pulled image under its name, as docker pull does: later
	// builds find it in the store without asking the registry (--pull asks)
	if err := r.keep(img, idx, full); err != nil {
		return nil, fmt.Errorf("storing %s: %w", ref, err)
	}
	return out, nil
}

// remoteImage gets nref's manifest, plat's from an index (returned too),
// retrying server errors, resets and replies cut short (registry.Retry).
// The image's config and layers are fetched into the store when first
// read (registry.Image): retried, verified, refetched when corrupt.
func (r *Resolver) remoteImage(ctx context.Context, nref name.Reference, plat ocispecs.Platform, ref string) (v1.Image, v1.ImageIndex, error) {
	opts := registry.Remote(ctx, r.keychain, r.registry...)
	var img v1.Image
	var idx v1.ImageIndex
	var pickErr error // no image for plat: not worth retrying
	err := registry.Retry(ctx, func() error {
		img, idx, pickErr = nil, nil, nil
		desc, err := remote.Get(nref, opts...)
		if err != nil {
			return err
		}
		if !desc.MediaType.IsIndex() {
			img, err = desc.Image()
			return err
		}
		if idx, err = desc.ImageIndex(); err != nil {
			return err
		}
		if img, err = imageFor(idx, plat, ref); err != nil && registry.Retryable(err) {
			return err
		}
		pickErr = err
		return nil
	}, r.registry...)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("pulling %s: %w", ref, err)
	case pickErr != nil:
		return nil, nil, pickErr
	}
	return registry.Image(ctx, img, r.st, r.registry...), idx, nil
}

// keep stores a pulled image's config and manifest (its layers are in the
// store already), and the index it came from, and names the index (or the
// image).
func (r *Resolver) keep(img v1.Image, idx v1.ImageIndex, full string) error {
	desc, err := r.st.PutManifest(img)
	if err != nil {
		return err
	}
	if idx != nil {
		raw, err := idx.RawManifest()
		if err != nil {
			return err
		}
		d, err := r.st.WriteBlobBytes(raw)
		if err != nil {
			return err
		}
		mt, err := idx.MediaType()
		if err != nil {
			return err
		}
		desc = v1.Descriptor{MediaType: mt, Digest: d, Size: int64(len(raw))}
	}
	return r.st.Tag(full, desc)
}

// imageFor picks plat's image of an index.
func imageFor(idx v1.ImageIndex, plat ocispecs.Platform, ref string) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var have []string
	for _, d := range im.Manifests {
		if d.Platform == nil || d.MediaType.IsIndex() {
			continue
		}
		p := ocispecs.Platform{OS: d.Platform.OS, Architecture: d.Platform.Architecture, Variant: d.Platform.Variant}
		if dockerfile.SamePlatform(p, plat) {
			return idx.Image(d.Digest)
		}
		if d.Platform.OS != "unknown" { // attestation manifests
			have = append(have, dockerfile.FormatPlatform(p))
		}
	}
	return nil, fmt.Errorf("%s has no image for %s (it has %s)", ref, dockerfile.FormatPlatform(plat), strings.Join(have, ", "))
}

func imagePlatform(cf *v1.ConfigFile) ocispecs.Platform {
	return ocispecs.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
}

// Scratch is the empty image for plat, configured as BuildKit configures
// FROM scratch.
func Scratch(plat ocispecs.Platform) *image.Image {
	if plat.OS == "" {
		plat = dockerfile.HostPlatform()
	}
	var c dockerspec.DockerOCIImage
	c.OS, c.Architecture, c.Variant = plat.OS, plat.Architecture, plat.Variant
	c.RootFS.Type = "layers"
	c.Config.WorkingDir = "/"
	c.Config.Env = []string{"PATH=" + DefaultPath}
	return &image.Image{Config: c}
}

// DefaultPath is the PATH BuildKit gives images that have none.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// load copies img's blobs into the store and extracts its layers.
func (r *Resolver) load(ctx context.Context, img v1.Image, ref string) (*image.Image, error) {
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s: reading config: %w", ref, err)
	}
	out := &image.Image{}
	if err := json.Unmarshal(raw, &out.Config); err != nil {
		return nil, fmt.Errorf("%s: parsing config: %w", ref, err)
	}
	if out.Digest, err = img.Digest(); err != nil {
		return nil, err
	}
	if out.ID, err = img.ConfigName(); err != nil {
		return nil, err
	}
	out.Layers, err = r.extractLayers(ctx, img, ref)
	if err != nil {
		return nil, err
	}
	return out, nil
}
