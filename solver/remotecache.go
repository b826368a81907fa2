package solver

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/image"
)

// remoteLayer answers a step from a --cache-from cache: the layer is known
// by its blob only, and is fetched and extracted only if a later step needs
// its files (materialize).
func (b *builder) remoteLayer(key string) (image.Layer, bool) {
	for _, r := range b.opts.CacheFrom {
		rec, ok := r.Lookup(key)
		if !ok {
			continue
		}
		diff, err := v1.NewHash(rec.DiffID)
		if err != nil {
			continue
		}
		return image.Layer{Key: key, DiffID: diff, Blob: rec.Blob, Created: rec.Created}, true
	}
	return image.Layer{}, false
}

// lowers returns img's layer dirs (top first), first fetching and
// extracting any layer known only from a remote cache.
func (b *builder) lowers(ctx context.Context, img *image.Image) ([]string, error) {
	for i := range img.Layers {
		if img.Layers[i].Dir == "" {
			if err := b.materialize(ctx, &img.Layers[i]); err != nil {
				return nil, err
			}
		}
	}
	return img.Lowers(), nil
}

// materialize makes a remote-cache layer local: blob into the store, files
// into the snapshot named by its key, and a local cache record.
func (b *builder) materialize(ctx context.Context, l *image.Layer) error {
	_, err, _ := b.pulls.Do(l.Key, func() (any, error) {
		if !b.st.HasBlob(l.Blob.Digest) {
			if err := b.fetchBlob(l); err != nil {
				return nil, err
			}
		}
		if err := b.res.ExtractBlob(ctx, l.Blob.Digest, l.Key); err != nil {
			return nil, err
		}
		return nil, b.cache.Put(l.Key, cache.Record{Snapshot: l.Key, Created: l.Created, DiffID: l.DiffID.String(),
			Blob: l.Blob.Digest.String(), Media: string(l.Blob.MediaType), Size: l.Blob.Size,
			Bytes: contentSize(b.st.SnapshotPath(l.Key))})
	})
	if err != nil {
		return fmt.Errorf("cache layer %s: %w", l.Blob.Digest, err)
	}
	l.Dir = b.st.SnapshotPath(l.Key)
	return nil
}

func (b *builder) fetchBlob(l *image.Layer) error {
	for _, r := range b.opts.CacheFrom {
		rec, ok := r.Lookup(l.Key)
		if !ok {
			continue
		}
		rc, err := r.Fetch(rec)
		if err != nil {
			return err
		}
		b.prog.Printf("pulling cached layer %s", l.Blob.Digest.Hex[:12])
		_, _, err = b.st.WriteBlob(rc, l.Blob.Digest)
		rc.Close()
		return err
	}
	return fmt.Errorf("no cache source has it")
}

// blobsLocal fetches into the store the blobs of img's layers that are
// known only from a remote cache; pushing a cache needs their bytes, not
// their files, so nothing is extracted.
func (b *builder) blobsLocal(img *image.Image) error {
	for i := range img.Layers {
		l := &img.Layers[i]
		if l.Dir == "" && !b.st.HasBlob(l.Blob.Digest) {
			if err := b.fetchBlob(l); err != nil {
				return err
			}
		}
	}
	return nil
}

// Lowers is the target image's layer dirs, fetching remote-cache layers
// first (for outputs that need the files).
func (r *Result) Lowers(ctx context.Context) ([]string, error) {
	return r.b.lowers(ctx, r.Image)
}

// ExportCache writes the build's cache to sp: the target image's steps, or
// with mode=max every stage's. Layers without a blob yet (builder stages)
// are tarred and compressed now.
func (r *Result) ExportCache(ctx context.Context, sp cache.Spec, comp export.Compression) error {
	imgs := []*image.Image{r.Image}
	if sp.Max {
		imgs = append(imgs, r.stages...)
	}
	var recs []cache.Exported
	seen := map[string]bool{}
	for _, img := range imgs {
		if err := r.b.blobsLocal(img); err != nil {
			return err
		}
		if err := export.EnsureBlobs(ctx, r.b.st, img.Layers, comp); err != nil {
			return err
		}
		for _, l := range img.Layers {
			if l.Key == "" || seen[l.Key] {
				continue
			}
			seen[l.Key] = true
			recs = append(recs, cache.Exported{Key: l.Key, DiffID: l.DiffID.String(), Blob: l.Blob, Created: l.Created})
			_ = r.b.cache.SetLayer(l.Key, l.DiffID.String(), l.Blob.Digest.String(), string(l.Blob.MediaType), l.Blob.Size)
		}
	}
	return cache.Push(ctx, sp, recs, r.b.st)
}
