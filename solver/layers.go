package solver

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sort"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"
)

// layerStore is the step cache: it answers a step's cache key with a layer
// (a local snapshot, or a blob in a --cache-from cache, fetched and
// extracted only when a later step needs its files) and records the layers
// of steps that ran. It also makes the layers of base images local, the
// same way: only when a step or an output needs them.
type layerStore struct {
	st      *store.Store
	snaps   snapshot.Snapshotter
	index   *cache.Index
	remotes []*cache.Remote
	base    baseLayers
	sink    progress.Sink
	pulls   singleflight.Group // remote-cache layers being fetched, by key
	steps   singleflight.Group // steps being run, by key
	auto    *autoDirs          // the automatic toolchain caches
	tmp     string             // the build's temp space
	// mu guards remoteMounts and the Dir of layers being made local
	mu sync.Mutex
	// mounts of the steps a remote cache answered, for their local record
	remoteMounts map[string]map[string]string
}

// baseLayers makes the layers of base images local (source.Resolver).
type baseLayers interface {
	// Unpack extracts the layer (and keeps its blob) and returns its dir.
	Unpack(ctx context.Context, l image.Layer) (string, error)
	// FetchBlob brings the layer's blob into the store.
	FetchBlob(ctx context.Context, l image.Layer) error
}

var _ baseLayers = (*source.Resolver)(nil)

func newLayerStore(st *store.Store, sn snapshot.Snapshotter, idx *cache.Index, remotes []*cache.Remote, base baseLayers, sink progress.Sink, tmp string) *layerStore {
	return &layerStore{st: st, snaps: sn, index: idx, remotes: remotes, base: base, sink: sink, tmp: tmp,
		auto: newAutoDirs(st, remotes, sink), remoteMounts: map[string]map[string]string{}}
}

func (ls *layerStore) tmpDir() string { return ls.tmp }

// lookup finds the layer of the step key: locally, else in a remote cache.
// A step that used automatic caches is found only while they hold what
// it wrote (autoDirs.valid, fromRemote).
func (ls *layerStore) lookup(ctx context.Context, key string) (image.Layer, bool) {
	r, ok, err := ls.index.Get(key)
	local := err == nil && ok && ls.snaps.Exists(r.Snapshot)
	if !local || !ls.auto.valid(r.Mounts) {
		l, ok := ls.remoteLayer(ctx, key)
		if !ok || !local {
			return l, ok
		}
		// the files are here; the remote cache brought the caches the
		// step used back
		ls.mu.Lock()
		r.Mounts = ls.remoteMounts[key]
		ls.mu.Unlock()
		_ = ls.index.Put(key, r)
	}
	ls.auto.use(r.Mounts, false)
	ls.snaps.Touch(r.Snapshot)
	dir := ls.snaps.Path(r.Snapshot)
	if r.Bytes == 0 { // a record from before sizes were kept
		r.Bytes = contentSize(dir)
		_ = ls.index.Put(key, r)
	}
	l := image.Layer{Dir: dir, Key: key, Created: r.Created, Size: r.Bytes}
	if r.Blob != "" {
		d, err1 := v1.NewHash(r.Blob)
		diff, err2 := v1.NewHash(r.DiffID)
		if err1 == nil && err2 == nil && ls.st.HasBlob(d) {
			l.DiffID = diff
			l.Blob = v1.Descriptor{Digest: d, Size: r.Size, MediaType: types.MediaType(r.Media)}
		}
	}
	return l, true
}

// remoteLayer answers a step from a --cache-from cache: the layer is known
// by its blob only (no Dir) until materialize.
func (ls *layerStore) remoteLayer(ctx context.Context, key string) (image.Layer, bool) {
	for _, r := range ls.remotes {
		rec, ok := r.Lookup(key)
		if !ok {
			continue
		}
		diff, err := v1.NewHash(rec.DiffID)
		if err != nil {
			continue
		}
		if len(rec.Mounts) > 0 {
			mounts, ok := ls.auto.fromRemote(ctx, r, rec.Mounts)
			if !ok {
				continue
			}
			ls.auto.use(mounts, false)
			ls.mu.Lock()
			ls.remoteMounts[key] = mounts
			ls.mu.Unlock()
		}
		return image.Layer{Key: key, DiffID: diff, Blob: rec.Blob, Created: rec.Created}, true
	}
	return image.Layer{}, false
}

// stepMounts are the automatic caches the step key used, by id.
func (ls *layerStore) stepMounts(key string) []string {
	var m map[string]string
	if r, ok, err := ls.index.Get(key); err == nil && ok {
		m = r.Mounts
	} else {
		ls.mu.Lock()
		m = ls.remoteMounts[key]
		ls.mu.Unlock()
	}
	var ids []string
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// make runs fn on a fresh snapshot over lowers (top first) and commits the
// change as the layer of step key; *mounts (if given) are the automatic
// caches fn used, for the step's record. With upper, the snapshot comes
// from PrepareUpper and fn gets its Below too (see stepFunc).
func (ls *layerStore) make(ctx context.Context, key string, lowers []string, fn stepFunc, upper bool, mounts *map[string]string) (image.Layer, error) {
	prepare := ls.snaps.Prepare
	if upper {
		prepare = ls.snaps.PrepareUpper
	}
	a, err := prepare(ctx, lowers)
	if err != nil {
		return image.Layer{}, err
	}
	defer a.Release()
	size, err := fn(a.Root(), a.Below())
	if err != nil {
		return image.Layer{}, err
	}
	// the snapshot is complete on disk before the index names it
	if err := a.Commit(ctx, key); err != nil {
		return image.Layer{}, err
	}
	if err := a.Release(); err != nil {
		return image.Layer{}, err
	}
	now := time.Now().UTC()
	dir := ls.snaps.Path(key)
	if size < 0 {
		size = contentSize(dir)
	}
	rec := cache.Record{Snapshot: key, Created: now, Bytes: size}
	if mounts != nil && len(*mounts) > 0 {
		rec.Mounts = *mounts
	}
	if err := ls.index.Put(key, rec); err != nil {
		return image.Layer{}, err
	}
	return image.Layer{Dir: dir, Key: key, Created: now, Size: size}, nil
}

// lowers returns img's layer dirs (top first), first fetching and
// extracting every layer that is not local yet (of a base image, or known
// only from a remote cache), all at once (source.UnpackJobs at a time).
func (ls *layerStore) lowers(ctx context.Context, img *image.Image) ([]string, error) {
	var todo []int
	ls.mu.Lock()
	for i := range img.Layers {
		if img.Layers[i].Dir == "" {
			todo = append(todo, i)
		}
	}
	ls.mu.Unlock()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(source.UnpackJobs)
	for _, i := range todo {
		ls.mu.Lock()
		l := img.Layers[i]
		ls.mu.Unlock()
		g.Go(func() error {
			dir, err := ls.materialize(gctx, l)
			if err == nil {
				ls.mu.Lock()
				img.Layers[i].Dir = dir
				ls.mu.Unlock()
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return img.Lowers(), nil
}

// materialize makes a layer local and returns its dir: a base image's
// through the resolver; a remote-cache layer's blob into the store and
// files into the snapshot named by its key (from one download), and a
// local cache record.
func (ls *layerStore) materialize(ctx context.Context, l image.Layer) (string, error) {
	if l.Key == "" {
		if ls.base == nil {
			return "", fmt.Errorf("base layer %s: no source", l.Blob.Digest)
		}
		return ls.base.Unpack(ctx, l)
	}
	_, err, _ := ls.pulls.Do(l.Key, func() (any, error) {
		if !ls.snaps.Exists(l.Key) {
			open, err := ls.remoteOpener(l)
			if err != nil {
				return nil, err
			}
			if open != nil {
				progress.Notef(ls.sink, "pulling cached layer %s", l.Blob.Digest.Hex[:12])
			}
			if err := source.UnpackBlob(ctx, ls.st, ls.snaps, l.Blob, l.Key, open); err != nil {
				return nil, err
			}
		}
		ls.mu.Lock()
		mounts := ls.remoteMounts[l.Key]
		ls.mu.Unlock()
		return nil, ls.index.Put(l.Key, cache.Record{Snapshot: l.Key, Created: l.Created, DiffID: l.DiffID.String(),
			Blob: l.Blob.Digest.String(), Media: string(l.Blob.MediaType), Size: l.Blob.Size,
			Bytes: contentSize(ls.snaps.Path(l.Key)), Mounts: mounts})
	})
	if err != nil {
		return "", fmt.Errorf("cache layer %s: %w", l.Blob.Digest, err)
	}
	return ls.snaps.Path(l.Key), nil
}

// remoteOpener opens a remote-cache layer's blob (nil when the store has
// it).
func (ls *layerStore) remoteOpener(l image.Layer) (source.Opener, error) {
	if ls.st.HasBlob(l.Blob.Digest) {
		return nil, nil
	}
	for _, r := range ls.remotes {
		if rec, ok := r.Lookup(l.Key); ok {
			return func() (io.ReadCloser, error) { return r.Fetch(rec) }, nil
		}
	}
	return nil, fmt.Errorf("no cache source has it")
}

// fetchBlob copies a layer's blob into the store, unless it is there: a
// base image's through the resolver, a remote-cache layer's from its
// cache.
func (ls *layerStore) fetchBlob(ctx context.Context, l image.Layer) error {
	if l.Blob.Digest == (v1.Hash{}) || ls.st.HasBlob(l.Blob.Digest) {
		return nil
	}
	if l.Key == "" {
		if ls.base == nil {
			return fmt.Errorf("base layer %s: no source", l.Blob.Digest)
		}
		return ls.base.FetchBlob(ctx, l)
	}
	_, err, _ := ls.pulls.Do("blob "+l.Key, func() (any, error) {
		for _, r := range ls.remotes {
			if rec, ok := r.Lookup(l.Key); ok {
				progress.Notef(ls.sink, "pulling cached layer %s", l.Blob.Digest.Hex[:12])
				// resumes cut bodies, refetches corrupt ones, never stores a bad blob
				return nil, r.FetchTo(ctx, ls.st, rec)
			}
		}
		return nil, fmt.Errorf("no cache source has it")
	})
	if err != nil {
		return fmt.Errorf("cache layer %s: %w", l.Blob.Digest, err)
	}
	return nil
}

// record remembers the blobs of exported layers, so the next export of the
// same steps does not tar them again.
func (ls *layerStore) record(layers []image.Layer) error {
	for _, l := range layers {
		if l.Key == "" || l.Blob.Digest.Hex == "" {
			continue
		}
		if err := ls.index.SetLayer(l.Key, l.DiffID.String(), l.Blob.Digest.String(), string(l.Blob.MediaType), l.Blob.Size); err != nil {
			return err
		}
	}
	return nil
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
