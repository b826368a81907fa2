package source

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/registry"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/store"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// layers lists img's layers, bottom first, without fetching or extracting
// any: a layer whose snapshot exists has its Dir, the others are made
// local by Unpack (files) or FetchBlob (blob only) when a step or an
// output needs them, from src. ref names img in notes.
func (r *Resolver) layers(img v1.Image, ref string, src blobSource) ([]image.Layer, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("%s: reading manifest: %w", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s: reading config: %w", ref, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("%s: config lists %d layers, manifest %d", ref, len(cfg.RootFS.DiffIDs), len(m.Layers))
	}
	out := make([]image.Layer, len(m.Layers))
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, desc := range m.Layers {
		diffID := cfg.RootFS.DiffIDs[i]
		out[i] = image.Layer{DiffID: diffID, Blob: desc}
		if id := snapshot.LayerID(diffID); r.snaps.Exists(id) {
			out[i].Dir = r.snaps.Path(id)
			r.snaps.Touch(id) // a build starting from it keeps it from prune
		}
		if _, ok := r.sources[desc.Digest]; !ok {
			r.sources[desc.Digest] = src
		}
	}
	return out, nil
}

// blobSource is where a layer blob of a resolved image comes from when
// the store does not have it: the registry repository or the OCI layout
// it was resolved from.
type blobSource struct {
	repo *name.Repository // a registry: blobs are fetched under the caller's context
	img  v1.Image         // else an image whose layers are local files
	ref  string           // for notes
}

// opener is how to fetch the blob desc under ctx: each call opens it
// anew (raw: no retry or check of its own). remoteBlob says it comes from
// a registry. raw is nil when the store has the blob, or when no image
// this resolver resolved lists it.
func (r *Resolver) opener(ctx context.Context, desc v1.Descriptor) (raw Opener, remoteBlob bool, ref string) {
	if r.st.HasBlob(desc.Digest) {
		return nil, false, ""
	}
	r.mu.Lock()
	src, ok := r.sources[desc.Digest]
	r.mu.Unlock()
	if !ok {
		return nil, false, ""
	}
	return func() (io.ReadCloser, error) {
		var l v1.Layer
		var err error
		if src.repo != nil {
			l, err = remote.Layer(src.repo.Digest(desc.Digest.String()), registry.Remote(ctx, r.keychain, r.registry...)...)
		} else {
			l, err = src.img.LayerByDigest(desc.Digest)
		}
		if err != nil {
			return nil, err
		}
		return l.Compressed()
	}, src.repo != nil, src.ref
}

// Unpack makes the layer l of an image from Resolve local and returns its
// snapshot dir: its files extracted as the snapshot LayerID(l.DiffID) and
// its blob in the store, from one download streamed through the
// decompressor (UnpackBlob). Every image that has the layer shares the
// snapshot; concurrent calls for one layer do the work once.
func (r *Resolver) Unpack(ctx context.Context, l image.Layer) (string, error) {
	id := snapshot.LayerID(l.DiffID)
	_, err, _ := r.flight.Do("unpack "+id, func() (any, error) {
		if r.snaps.Exists(id) {
			r.snaps.Touch(id)
			return nil, nil
		}
		open, fromRegistry, ref := r.opener(ctx, l.Blob)
		if open != nil {
			progress.Notef(r.sink, "pulling %s layer %s (%s)", ref, short(l.Blob.Digest), progress.Size(l.Blob.Size))
		}
		if fromRegistry {
			// a transfer cut short is resumed, its digest checked (a
			// corrupt blob is fetched again by UnpackBlob)
			raw := open
			open = func() (io.ReadCloser, error) { return registry.Open(ctx, l.Blob, raw, r.registry...), nil }
		}
		if err := UnpackBlob(ctx, r.st, r.snaps, l.Blob, id, open); err != nil {
			return nil, err
		}
		return nil, r.blobStored()
	})
	if err != nil {
		return "", err
	}
	return r.snaps.Path(id), nil
}

// FetchBlob brings the blob of the layer l of an image from Resolve into
// the store, without extracting it (for outputs that need the blob and not
// the files, such as an image FROM a base whose every step was cached).
func (r *Resolver) FetchBlob(ctx context.Context, l image.Layer) error {
	_, err, _ := r.flight.Do("blob "+l.Blob.Digest.String(), func() (any, error) {
		open, fromRegistry, ref := r.opener(ctx, l.Blob)
		if open == nil {
			if r.st.HasBlob(l.Blob.Digest) {
				return nil, nil
			}
			return nil, fmt.Errorf("layer %s: %w: not in the store, and no registry or layout to fetch it from", l.Blob.Digest, store.ErrNotFound)
		}
		progress.Notef(r.sink, "pulling %s layer %s (%s)", ref, short(l.Blob.Digest), progress.Size(l.Blob.Size))
		fetch := FetchBlob
		if fromRegistry { // resumed when cut, fetched again when corrupt
			fetch = func(ctx context.Context, st *store.Store, desc v1.Descriptor, open Opener) error {
				return registry.Fetch(ctx, st, desc, open, r.registry...)
			}
		}
		if err := fetch(ctx, r.st, l.Blob, open); err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Blob.Digest, err)
		}
		return nil, r.blobStored()
	})
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// fromLayoutRef resolves oci-layout:///path[:tag] (or @digest).
func (r *Resolver) fromLayoutRef(ctx context.Context, spec, ref string, plat ocispecs.Platform) (*image.Image, error) {
	img, err := fromLayout(spec, plat)
	if err != nil {
		return nil, err
	}
	return r.load(ctx, img, ref, blobSource{img: img, ref: ref})
}

// fromLayout opens /path[:tag] (or @digest) of an OCI layout, for plat.
func fromLayout(spec string, plat ocispecs.Platform) (v1.Image, error) {
	path, sel := spec, ""
	if i := strings.LastIndexAny(spec, ":@"); i > strings.LastIndex(spec, "/") {
		path, sel = spec[:i], spec[i+1:]
	}
	idx, _, err := store.ReadLayout(path)
	if err != nil {
		return nil, err
	}
	return pickFromIndex(idx, sel, spec, plat)
}

func pickFromIndex(idx v1.ImageIndex, sel, spec string, plat ocispecs.Platform) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range im.Manifests {
		match := sel == "" || d.Annotations["org.opencontainers.image.ref.name"] == sel || d.Digest.String() == sel ||
			strings.HasSuffix(d.Digest.String(), sel)
		if !match {
			continue
		}
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return nil, err
			}
			return pickFromIndex(child, "", spec, plat)
		}
		if d.Platform != nil && !dockerfile.SamePlatform(ocispecs.Platform{OS: d.Platform.OS,
			Architecture: d.Platform.Architecture, Variant: d.Platform.Variant}, plat) {
			continue
		}
		return idx.Image(d.Digest)
	}
	return nil, fmt.Errorf("oci-layout %s: no matching image", spec)
}

func short(d v1.Hash) string {
	if len(d.Hex) > 12 {
		return d.Hex[:12]
	}
	return d.Hex
}
