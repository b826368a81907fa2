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

// Resolver finds images and makes their layers available as snapshots,
// lazily: Resolve reads an image's manifest and config only, and a layer
// is fetched and extracted (Unpack) or only fetched (FetchBlob) when a
// step or an output needs it. A build whose every step is cached pulls no
// layer of its base image.
type Resolver struct {
	st       *store.Store
	snaps    snapshot.Snapshotter
	keychain authn.Keychain
	sink     progress.Sink
	flight   singleflight.Group
	mu       sync.Mutex
	cache    map[string]*image.Image
	sources  map[v1.Hash]blobSource // layer blobs of resolved images, by digest
	pending  []pendingName          // pulled images named once their blobs are in the store
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
	r := &Resolver{st: st, snaps: sn, keychain: authn.DefaultKeychain, sink: progress.Discard, cache: map[string]*image.Image{},
		sources: map[v1.Hash]blobSource{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Resolve returns the image ref names for platform plat: its config and
// its layers, none fetched or extracted yet (see Unpack and FetchBlob)
// unless the store has them. An index (a multi-platform image) gives the
// manifest for plat. Two concurrent calls for one ref and platform do the
// work once.
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
			return r.load(ctx, img, ref, blobSource{img: img, ref: ref})
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
		return r.complete(r.st.Image(d))
	}
	img, err := r.complete(r.st.Image(desc.Digest))
	if err != nil || img == nil {
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

// complete passes on a stored image whose layer blobs are all in the
// store, and nil for one whose layers were never all pulled (a lazily
// resolved base that shares a name with an index, say): the registry is
// asked instead.
func (r *Resolver) complete(img v1.Image, err error) (v1.Image, error) {
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if !r.st.HasBlob(l.Digest) {
			return nil, nil
		}
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
	repo := nref.Context()
	out, err := r.load(ctx, img, ref, blobSource{repo: &repo, ref: ref})
	if err != nil {
		return nil, err
	}
	// keep the pulled image under its name, as docker pull does: later
	// builds find it in the store without asking the registry (--pull asks)
	if err := r.keep(img, idx, full, out.Layers); err != nil {
		return nil, fmt.Errorf("storing %s: %w", ref, err)
	}
	return out, nil
}

// remoteImage gets nref's manifest, plat's from an index (returned too),
// retrying server errors, resets and replies cut short (registry.Retry).
// The image's config is fetched into the store when first read
// (registry.Image): retried, verified, refetched when corrupt. Its layers
// are fetched by Unpack and FetchBlob, the same way.
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

// pendingName is a pulled image to name once its layer blobs are in the
// store.
type pendingName struct {
	full   string
	desc   v1.Descriptor
	layers []v1.Hash
}

// keep stores a pulled image's config and manifest, and the index it came
// from, and names the index (or the image) — once every layer blob is in
// the store: the store names only images it holds whole. Until then the
// name waits (blobStored).
func (r *Resolver) keep(img v1.Image, idx v1.ImageIndex, full string, layers []image.Layer) error {
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
	p := pendingName{full: full, desc: desc}
	for _, l := range layers {
		p.layers = append(p.layers, l.Blob.Digest)
	}
	r.mu.Lock()
	r.pending = append(r.pending, p)
	r.mu.Unlock()
	return r.blobStored()
}

// blobStored names the pending images whose layer blobs are now all in the
// store.
func (r *Resolver) blobStored() error {
	r.mu.Lock()
	var ready []pendingName
	left := r.pending[:0]
	for _, p := range r.pending {
		if r.haveAll(p.layers) {
			ready = append(ready, p)
		} else {
			left = append(left, p)
		}
	}
	r.pending = left
	r.mu.Unlock()
	for _, p := range ready {
		if err := r.st.Tag(p.full, p.desc); err != nil {
			return fmt.Errorf("naming %s: %w", p.full, err)
		}
	}
	return nil
}

func (r *Resolver) haveAll(blobs []v1.Hash) bool {
	for _, b := range blobs {
		if !r.st.HasBlob(b) {
			return false
		}
	}
	return true
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

// load reads img's config and lists its layers (see layers): nothing is
// fetched or extracted yet.
func (r *Resolver) load(_ context.Context, img v1.Image, ref string, src blobSource) (*image.Image, error) {
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
	out.Layers, err = r.layers(img, ref, src)
	if err != nil {
		return nil, err
	}
	return out, nil
}
