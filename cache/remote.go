package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/registry"
	"github.com/kiln-build/kiln/store"
)

// ConfigMediaType marks a kiln cache artifact: an OCI manifest whose config
// lists cache records and whose layers are the records' blobs.
const ConfigMediaType types.MediaType = "application/vnd.kiln.cache.config.v1+json"

// Exported is one step of a build cache as it travels: the step's key and
// its layer blob, and the cache mounts (by id) the step used that were not
// in its layer (the solver's automatic toolchain caches).
type Exported struct {
	Key     string        `json:"key"`
	DiffID  string        `json:"diffID"`
	Blob    v1.Descriptor `json:"blob"`
	Created time.Time     `json:"created"`
	Mounts  []string      `json:"mounts,omitempty"`
}

// Mount is the content of a cache mount as it travels: a layer blob of
// its directory (no whiteouts), by the mount's id.
type Mount struct {
	ID     string        `json:"id"`
	DiffID string        `json:"diffID"`
	Blob   v1.Descriptor `json:"blob"`
	Bytes  int64         `json:"bytes"` // file content
}

type artifactConfig struct {
	Records []Exported `json:"records"`
	Mounts  []Mount    `json:"mounts,omitempty"`
}

// Spec is a --cache-to / --cache-from value: type=registry,ref=… or
// type=local,dest=… / src=…, with mode=min|max for exports.
type Spec struct {
	Type string // registry or local
	Ref  string // registry reference
	Dir  string // local OCI layout dir
	Max  bool   // export every stage's steps, not only the image's
	// MountMax bounds each cache mount's content a mode=max export takes
	// (auto-cache-max=SIZE, bytes; default DefaultMountMax, 0 = none).
	MountMax int64
}

// DefaultMountMax is the size bound of a cache mount's content in an
// export (uncompressed): 1 GiB.
const DefaultMountMax = 1 << 30

// ParseSpec parses a --cache-to or --cache-from value.
func ParseSpec(flag, s string) (Spec, error) {
	sp := Spec{MountMax: DefaultMountMax}
	for _, f := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			if !strings.Contains(s, "=") { // buildx shorthand: a bare ref
				return Spec{Type: "registry", Ref: s, MountMax: DefaultMountMax}, nil
			}
			return sp, fmt.Errorf("%s %q: %q is not key=value", flag, s, f)
		}
		switch strings.ToLower(k) {
		case "type":
			sp.Type = v
		case "ref":
			sp.Ref = v
		case "dest", "src":
			sp.Dir = v
		case "mode":
			if v != "min" && v != "max" {
				return sp, fmt.Errorf("%s %q: mode must be min or max", flag, s)
			}
			sp.Max = v == "max"
		case "auto-cache-max":
			n, err := units.RAMInBytes(v)
			if err != nil || n < 0 {
				return sp, fmt.Errorf("%s %q: auto-cache-max=%s: want a size (0 exports no automatic caches)", flag, s, v)
			}
			sp.MountMax = n
		case "oci-mediatypes", "compression", "ignore-error", "image-manifest":
		default:
			return sp, fmt.Errorf("%s %q: unknown attribute %q", flag, s, k)
		}
	}
	switch {
	case sp.Type == "registry" && sp.Ref == "":
		return sp, fmt.Errorf("%s %q: type=registry needs ref=", flag, s)
	case sp.Type == "local" && sp.Dir == "":
		return sp, fmt.Errorf("%s %q: type=local needs dest= (or src=)", flag, s)
	case sp.Type != "registry" && sp.Type != "local":
		return sp, fmt.Errorf("%s %q: type must be registry or local", flag, s)
	}
	return sp, nil
}

// BlobSource opens blobs of the store by digest.
type BlobSource interface {
	OpenBlob(d v1.Hash) (*os.File, error)
}

// Push writes records and mounts (their blobs read from src) as a cache
// artifact.
func Push(ctx context.Context, sp Spec, records []Exported, mounts []Mount, src BlobSource) error {
	cfg, err := json.Marshal(artifactConfig{Records: records, Mounts: mounts})
	if err != nil {
		return err
	}
	img, err := partial.CompressedToImage(&artifact{cfg: cfg, records: records, mounts: mounts, src: src})
	if err != nil {
		return err
	}
	if sp.Type == "local" {
		lp, err := layout.FromPath(sp.Dir)
		if err != nil {
			if lp, err = layout.Write(sp.Dir, empty.Index); err != nil {
				return fmt.Errorf("--cache-to: %w", err)
			}
		}
		return lp.ReplaceImage(img, matchCache, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "cache"}))
	}
	ref, err := name.ParseReference(sp.Ref)
	if err != nil {
		return fmt.Errorf("--cache-to ref=%s: %w", sp.Ref, err)
	}
	if err := remote.Write(ref, img, registry.Remote(ctx, authn.DefaultKeychain)...); err != nil {
		return fmt.Errorf("--cache-to %s: %w", sp.Ref, err)
	}
	return nil
}

func matchCache(d v1.Descriptor) bool {
	return d.Annotations["org.opencontainers.image.ref.name"] == "cache"
}

// Remote is a cache read from a registry or a local dir. Its blobs are
// fetched only when a build uses them.
type Remote struct {
	img     v1.Image
	records map[string]Exported
	mounts  map[string]Mount
	ctx     context.Context // Pull's: the image's requests are bound to it already
	opts    []registry.Option
}

// Pull reads the cache records of sp (not the blobs). Registry requests
// are retried as registry.Remote and registry.Retry say (opts change the
// backoff or the transport); ctx also bounds the blob fetches of the
// Remote returned.
func Pull(ctx context.Context, sp Spec, opts ...registry.Option) (*Remote, error) {
	var img v1.Image
	var err error
	if sp.Type == "local" {
		img, err = localCache(sp.Dir)
	} else {
		var ref name.Reference
		if ref, err = name.ParseReference(sp.Ref); err == nil {
			err = registry.Retry(ctx, func() error {
				// a new remote.Image each time: one keeps a config read halfway
				i, err := remote.Image(ref, registry.Remote(ctx, authn.DefaultKeychain, opts...)...)
				if err == nil {
					_, err = i.RawConfigFile()
				}
				img = i
				return err
			}, opts...)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("--cache-from: %w", err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("--cache-from: %w", err)
	}
	var cfg artifactConfig
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("--cache-from: not a kiln cache: %w", err)
	}
	r := &Remote{img: img, records: map[string]Exported{}, mounts: map[string]Mount{}, ctx: ctx, opts: opts}
	for _, rec := range cfg.Records {
		r.records[rec.Key] = rec
	}
	for _, m := range cfg.Mounts {
		r.mounts[m.ID] = m
	}
	return r, nil
}

func localCache(dir string) (v1.Image, error) {
	idx, manifests, err := store.ReadLayout(dir)
	if err != nil {
		return nil, err
	}
	for _, d := range manifests {
		if matchCache(d) {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("%s holds no kiln cache", dir)
}

// Lookup finds the record of a step key.
func (r *Remote) Lookup(key string) (Exported, bool) {
	rec, ok := r.records[key]
	return rec, ok
}

// Mount finds the content of the cache mount id.
func (r *Remote) Mount(id string) (Mount, bool) {
	m, ok := r.mounts[id]
	return m, ok
}

// Fetch opens a record's compressed blob. Transfers cut short are resumed
// (registry.Open); content that does not match the record's digest fails
// reading with an error matching store.ErrDigest. FetchTo also refetches
// a blob that arrived corrupt.
func (r *Remote) Fetch(rec Exported) (io.ReadCloser, error) {
	return r.FetchBlob(rec.Blob)
}

// FetchBlob opens a compressed blob of the cache (a record's or a
// mount's), as Fetch.
func (r *Remote) FetchBlob(d v1.Descriptor) (io.ReadCloser, error) {
	l, err := r.img.LayerByDigest(d.Digest)
	if err != nil {
		return nil, err
	}
	return registry.Open(r.ctx, d, l.Compressed, r.opts...), nil
}

// FetchTo copies a record's compressed blob into st, unless st has it:
// retried, verified and refetched when corrupt (registry.Fetch); a blob
// that never matches its digest is not stored.
func (r *Remote) FetchTo(ctx context.Context, st *store.Store, rec Exported) error {
	return r.FetchBlobTo(ctx, st, rec.Blob)
}

// FetchBlobTo is FetchTo for any blob of the cache (a mount's).
func (r *Remote) FetchBlobTo(ctx context.Context, st *store.Store, d v1.Descriptor) error {
	l, err := r.img.LayerByDigest(d.Digest)
	if err != nil {
		return err
	}
	return registry.Fetch(ctx, st, d, l.Compressed, r.opts...)
}

// artifact is the cache manifest being pushed.
type artifact struct {
	cfg     []byte
	records []Exported
	mounts  []Mount
	src     BlobSource
}

// blobs are the artifact's layers: the records' blobs, then the mounts'.
func (a *artifact) blobs() []v1.Descriptor {
	var out []v1.Descriptor
	seen := map[v1.Hash]bool{}
	add := func(d v1.Descriptor) {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			out = append(out, d)
		}
	}
	for _, r := range a.records {
		add(r.Blob)
	}
	for _, m := range a.mounts {
		add(m.Blob)
	}
	return out
}

func (a *artifact) RawConfigFile() ([]byte, error) { return a.cfg, nil }

func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

func (a *artifact) RawManifest() ([]byte, error) {
	cd, size, err := v1.SHA256(strings.NewReader(string(a.cfg)))
	if err != nil {
		return nil, err
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config: v1.Descriptor{MediaType: ConfigMediaType, Digest: cd, Size: size}}
	m.Layers = a.blobs()
	return json.Marshal(m)
}

func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, d := range a.blobs() {
		if d.Digest == h {
			return &blob{desc: d, src: a.src}, nil
		}
	}
	return nil, fmt.Errorf("cache: no blob %s", h)
}

type blob struct {
	desc v1.Descriptor
	src  BlobSource
}

func (b *blob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *blob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *blob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *blob) Compressed() (io.ReadCloser, error)  { return b.src.OpenBlob(b.desc.Digest) }
