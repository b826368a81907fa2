package source

import (
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
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/store"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
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
}

// Option configures a Resolver.
type Option func(*Resolver)

// WithProgress sends notes ("pulling …") to sink.
func WithProgress(sink progress.Sink) Option { return func(r *Resolver) { r.sink = progress.Or(sink) } }

// WithPull makes named images always resolve against their registry, even
// when the store has them (kiln build --pull).
func WithPull() Option { return func(r *Resolver) { r.pull = true } }

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

// Resolve returns the image ref names, with every layer extracted. Two
// concurrent calls for one ref do the work once.
func (r *Resolver) Resolve(ctx context.Context, ref string) (*image.Image, error) {
	r.mu.Lock()
	if im, ok := r.cache[ref]; ok {
		r.mu.Unlock()
		return im.Clone(), nil
	}
	r.mu.Unlock()
	v, err, _ := r.flight.Do(ref, func() (any, error) {
		im, err := r.resolve(ctx, ref)
		if err == nil {
			r.mu.Lock()
			r.cache[ref] = im
			r.mu.Unlock()
		}
		return im, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*image.Image).Clone(), nil
}

func (r *Resolver) resolve(ctx context.Context, ref string) (*image.Image, error) {
	if strings.EqualFold(ref, "scratch") {
		return Scratch(), nil
	}
	if img, ok, err := r.namedContext(ctx, ref); ok {
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
	if desc, err := r.st.Lookup(full); r.pull {
		// --pull: ask the registry even for a name the store has
	} else if err == nil {
		img, err := r.st.Image(desc.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading %s from the store: %w", ref, err)
		}
		return r.load(ctx, img, ref)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	nref, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	progress.Notef(r.sink, "resolving %s", full)
	os, arch, variant := plan.Platform()
	img, err := remote.Image(nref, remote.WithContext(ctx), remote.WithAuthFromKeychain(r.keychain),
		remote.WithPlatform(v1.Platform{OS: os, Architecture: arch, Variant: variant}))
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	out, err := r.load(ctx, img, ref)
	if err != nil {
		return nil, err
	}
	// keep the pulled image under its name, as docker pull does: later
	// builds find it in the store without asking the registry (--pull asks)
	if err := r.keep(img, full); err != nil {
		return nil, fmt.Errorf("storing %s: %w", ref, err)
	}
	return out, nil
}

// keep stores a pulled image's config and manifest (its layers are in the
// store already) and names it.
func (r *Resolver) keep(img v1.Image, full string) error {
	desc, err := r.st.PutManifest(img)
	if err != nil {
		return err
	}
	return r.st.Tag(full, desc)
}

// Scratch is the empty image, configured as BuildKit configures FROM scratch.
func Scratch() *image.Image {
	os, arch, variant := plan.Platform()
	var c dockerspec.DockerOCIImage
	c.OS, c.Architecture, c.Variant = os, arch, variant
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
