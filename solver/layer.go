package solver

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/snapshot"
)

// layerStep adds the layer of the step whose cache key is key: from the
// cache when it has the key, else by running fn on a fresh snapshot over
// the stage's layers. It reports whether the cache answered.
func (s *stage) layerStep(ctx context.Context, key string, fn func(root string) error) (bool, error) {
	if l, ok := s.cachedLayer(key); ok {
		s.img.Layers = append(s.img.Layers, l)
		s.key = key
		return true, nil
	}
	lowers, err := s.b.lowers(ctx, s.img)
	if err != nil {
		return false, err
	}
	a, err := snapshot.Prepare(ctx, s.b.tmp, lowers)
	if err != nil {
		return false, err
	}
	if err := fn(a.Root()); err != nil {
		a.Release()
		return false, err
	}
	upper, err := a.Commit()
	if err != nil {
		a.Release()
		return false, err
	}
	// the snapshot is complete on disk before the index names it
	if err := s.b.st.CommitSnapshot(upper, key); err != nil {
		a.Release()
		return false, err
	}
	a.Release()
	now := time.Now().UTC()
	size := contentSize(s.b.st.SnapshotPath(key))
	if err := s.b.cache.Put(key, cache.Record{Snapshot: key, Created: now, Bytes: size}); err != nil {
		return false, err
	}
	s.img.Layers = append(s.img.Layers, image.Layer{Dir: s.b.st.SnapshotPath(key), Key: key, Created: now, Size: size})
	s.key = key
	return false, nil
}

// cachedLayer looks key up, unless the cache is off for this stage.
func (s *stage) cachedLayer(key string) (image.Layer, bool) {
	if s.b.opts.NoCache || slices.Contains(s.b.opts.NoCacheFilter, s.ps.Name) ||
		slices.Contains(s.b.opts.NoCacheFilter, s.ps.Ref()) {
		return image.Layer{}, false
	}
	r, ok, err := s.b.cache.Get(key)
	if err != nil || !ok || !s.b.st.HasSnapshot(r.Snapshot) {
		return s.b.remoteLayer(key)
	}
	s.b.st.TouchSnapshot(r.Snapshot)
	if r.Bytes == 0 { // a record from before sizes were kept
		r.Bytes = contentSize(s.b.st.SnapshotPath(r.Snapshot))
		_ = s.b.cache.Put(key, r)
	}
	l := image.Layer{Dir: s.b.st.SnapshotPath(r.Snapshot), Key: key, Created: r.Created, Size: r.Bytes}
	if r.Blob != "" {
		d, err1 := v1.NewHash(r.Blob)
		diff, err2 := v1.NewHash(r.DiffID)
		if err1 == nil && err2 == nil && s.b.st.HasBlob(d) {
			l.DiffID = diff
			l.Blob = v1.Descriptor{Digest: d, Size: r.Size, MediaType: types.MediaType(r.Media)}
		}
	}
	return l, true
}

// contentSize adds up the regular files of a (small) layer dir.
func contentSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// uniqueKey is a key that never hits: for steps whose inputs kiln cannot
// pin down (ADD of a URL).
func uniqueKey(parent, kind string) string {
	return cache.NewKey(parent, kind).Add("nonce", fmt.Sprint(time.Now().UnixNano())+randomID()).String()
}
