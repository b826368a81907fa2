package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
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
		out[i] = image.Layer{DiffID: diffID, Blob: desc, Dir: r.st.SnapshotPath(SnapshotID(diffID))}
		g.Go(func() error {
			return r.ensureLayer(gctx, img, desc, diffID, ref)
		})
	}
	return out, g.Wait()
}

// SnapshotID names the snapshot of a layer. A snapshot in overlay format
// depends only on its own diff, not on the layers below, so layers are keyed
// by diff ID and shared by every chain that contains them.
func SnapshotID(diffID v1.Hash) string { return diffID.Hex }

func (r *Resolver) ensureLayer(ctx context.Context, img v1.Image, desc v1.Descriptor, diffID v1.Hash, ref string) error {
	if !r.st.HasBlob(desc.Digest) {
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return fmt.Errorf("%s: layer %s: %w", ref, desc.Digest, err)
		}
		r.log(fmt.Sprintf("pulling %s layer %s (%s)", ref, short(desc.Digest), progress.Size(desc.Size)))
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
	id := SnapshotID(diffID)
	if r.st.HasSnapshot(id) {
		r.st.TouchSnapshot(id)
		return nil
	}
	return r.extract(ctx, desc.Digest, id)
}

// ExtractBlob unpacks the layer blob d (already in the store) into the
// snapshot id, unless it exists.
func (r *Resolver) ExtractBlob(ctx context.Context, d v1.Hash, id string) error {
	if r.st.HasSnapshot(id) {
		return nil
	}
	return r.extract(ctx, d, id)
}

// extract unpacks blob d into a new snapshot id.
func (r *Resolver) extract(ctx context.Context, d v1.Hash, id string) error {
	f, err := r.st.OpenBlob(d)
	if err != nil {
		return err
	}
	defer f.Close()
	plain, err := archive.Decompress(f)
	if err != nil {
		return fmt.Errorf("layer %s: %w", d, err)
	}
	defer plain.Close()
	tmp, err := r.st.TempDir("extract-")
	if err != nil {
		return err
	}
	fs := filepath.Join(tmp, "fs")
	if err := os.Mkdir(fs, 0o755); err != nil {
		return err
	}
	if _, err := archive.Apply(ctx, fs, plain, archive.WithOverlayWhiteouts()); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("extracting layer %s: %w", d, err)
	}
	err = r.st.CommitSnapshot(fs, id)
	os.RemoveAll(tmp)
	return err
}

// fromLayout opens oci-layout:///path[:tag] (or @digest).
func fromLayout(spec string) (v1.Image, error) {
	path, sel := spec, ""
	if i := strings.LastIndexAny(spec, ":@"); i > strings.LastIndex(spec, "/") {
		path, sel = spec[:i], spec[i+1:]
	}
	lp, err := layout.FromPath(path)
	if err != nil {
		return nil, fmt.Errorf("oci-layout %s: %w", path, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("oci-layout %s: %w", path, err)
	}
	return pickFromIndex(idx, sel, spec)
}

func pickFromIndex(idx v1.ImageIndex, sel, spec string) (v1.Image, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	os, arch, _ := plan.Platform()
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
			return pickFromIndex(child, "", spec)
		}
		if d.Platform != nil && (d.Platform.OS != os || d.Platform.Architecture != arch) {
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
