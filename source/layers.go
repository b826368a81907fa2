package source

import (
	"context"
	"fmt"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/store"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// pullJobs bounds concurrent layer downloads and extractions.
const pullJobs = 3

// extractLayers makes sure every layer of img has its blob in the store and
// its files in a snapshot, fetching and extracting layers in parallel.
func (r *Resolver) extractLayers(ctx context.Context, img v1.Image, ref string) ([]image.Layer, error) {
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
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pullJobs)
	for i, desc := range m.Layers {
		diffID := cfg.RootFS.DiffIDs[i]
		out[i] = image.Layer{DiffID: diffID, Blob: desc, Dir: r.snaps.Path(snapshot.LayerID(diffID))}
		g.Go(func() error {
			return r.ensureLayer(gctx, img, desc, diffID, ref)
		})
	}
	return out, g.Wait()
}

func (r *Resolver) ensureLayer(ctx context.Context, img v1.Image, desc v1.Descriptor, diffID v1.Hash, ref string) error {
	if !r.st.HasBlob(desc.Digest) {
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return fmt.Errorf("%s: layer %s: %w", ref, desc.Digest, err)
		}
		progress.Notef(r.sink, "pulling %s layer %s (%s)", ref, short(desc.Digest), progress.Size(desc.Size))
		rc, err := l.Compressed()
		if err != nil {
			return fmt.Errorf("%s: fetching layer %s: %w", ref, desc.Digest, err)
		}
		_, _, err = r.st.WriteBlob(rc, desc.Digest)
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: fetching layer %s: %w", ref, desc.Digest, err)
		}
	}
	id := snapshot.LayerID(diffID)
	if r.snaps.Exists(id) {
		r.snaps.Touch(id)
		return nil
	}
	return ExtractBlob(ctx, r.st, r.snaps, desc.Digest, id)
}

// ExtractBlob unpacks the compressed layer blob d (in st) as snapshot id,
// unless sn has it.
func ExtractBlob(ctx context.Context, st *store.Store, sn snapshot.Snapshotter, d v1.Hash, id string) error {
	if sn.Exists(id) {
		return nil
	}
	f, err := st.OpenBlob(d)
	if err != nil {
		return err
	}
	defer f.Close()
	plain, err := archive.Decompress(f)
	if err != nil {
		return fmt.Errorf("layer %s: %w", d, err)
	}
	defer plain.Close()
	if err := sn.Extract(ctx, id, plain); err != nil {
		return fmt.Errorf("layer %s: %w", d, err)
	}
	return nil
}

// fromLayoutRef resolves oci-layout:///path[:tag] (or @digest).
func (r *Resolver) fromLayoutRef(ctx context.Context, spec, ref string, plat ocispecs.Platform) (*image.Image, error) {
	img, err := fromLayout(spec, plat)
	if err != nil {
		return nil, err
	}
	return r.load(ctx, img, ref)
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
