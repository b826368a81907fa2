package solver

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	securejoin "github.com/cyphar/filepath-securejoin"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/store"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sync/singleflight"
)

// autoDirs are the directories of the automatic caches in the store, one
// per cache id (kind/uid: "go-build/0"), shared by every build of the
// store: mounts/cache/<hash of "auto:"+id>, beside the RUN --mount cache
// dirs, with three files next to each:
//
//	<dir>.lock      taken to create the dir and to merge imported content
//	<dir>.epoch     a random name the dir gets when it is created: a step
//	                that used a "keep" cache is reused only while the epoch
//	                it saw is still there (a pruned or lost dir has a new one)
//	<dir>.restored  the --cache-from blobs already merged into the dir
//
// A build also remembers which caches its steps used (ran with, or were
// reused from) so a mode=max --cache-to exports them.
type autoDirs struct {
	st       *store.Store
	remotes  []*cache.Remote
	sink     progress.Sink
	restores singleflight.Group
	mu       sync.Mutex
	used     map[string]*autoUse
}

// autoUse is what one build did with a cache.
type autoUse struct {
	dirty    bool         // a RUN of the build mounted it
	restored *cache.Mount // --cache-from content the build merged into it
}

func newAutoDirs(st *store.Store, remotes []*cache.Remote, sink progress.Sink) *autoDirs {
	return &autoDirs{st: st, remotes: remotes, sink: sink, used: map[string]*autoUse{}}
}

// dir is the cache directory of id.
func (ad *autoDirs) dir(id string) string {
	sum := sha256.Sum256([]byte("auto:" + id))
	return filepath.Join(ad.st.Root(), "mounts", "cache", hex.EncodeToString(sum[:16]))
}

// epoch is the dir's epoch ("" when it has none: not created yet).
func (ad *autoDirs) epoch(id string) string {
	b, err := os.ReadFile(ad.dir(id) + ".epoch")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// use notes that a step of the build used the caches ids.
func (ad *autoDirs) use(ids map[string]string, dirty bool) {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	for id := range ids {
		u := ad.used[id]
		if u == nil {
			u = &autoUse{}
			ad.used[id] = u
		}
		u.dirty = u.dirty || dirty
	}
}

// valid reports whether a local step record that used mounts may be
// reused: every "keep" cache still has the epoch the step saw.
func (ad *autoDirs) valid(mounts map[string]string) bool {
	for id, ep := range mounts {
		if ep != "" && ad.epoch(id) != ep {
			return false
		}
	}
	return true
}

// fromRemote checks a step the remote cache r answers: every "keep" cache
// it used must come with r, and is merged into the local dir. It returns
// the mounts as a local record keeps them.
func (ad *autoDirs) fromRemote(ctx context.Context, r *cache.Remote, ids []string) (map[string]string, bool) {
	out := map[string]string{}
	for _, id := range ids {
		k := kindOf(id)
		if k == nil {
			return nil, false
		}
		if !k.keep {
			out[id] = ""
			continue
		}
		m, ok := r.Mount(id)
		if !ok {
			return nil, false
		}
		if err := ad.restore(ctx, id, r, m); err != nil {
			ad.sink.Event(progress.Warning{Message: fmt.Sprintf("auto cache %s: importing it: %v", id, err)})
			return nil, false
		}
		out[id] = ad.epoch(id)
	}
	return out, true
}

// prepare makes the dir of id ready for a RUN that mounts it: created if
// missing (owned by root, with a new epoch), and with the content a
// --cache-from cache has for it merged in. It returns the dir and the
// epoch.
func (ad *autoDirs) prepare(ctx context.Context, id string) (string, string, error) {
	if err := ad.create(ctx, id); err != nil {
		return "", "", err
	}
	for _, r := range ad.remotes {
		if m, ok := r.Mount(id); ok {
			if err := ad.restore(ctx, id, r, m); err != nil {
				ad.sink.Event(progress.Warning{Message: fmt.Sprintf("auto cache %s: importing it: %v", id, err)})
			}
			break
		}
	}
	return ad.dir(id), ad.epoch(id), nil
}

// create makes the dir of id, with its epoch, unless it exists.
func (ad *autoDirs) create(ctx context.Context, id string) error {
	dir := ad.dir(id)
	if _, err := os.Stat(dir + ".epoch"); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return err
	}
	lock, err := store.LockFile(ctx, dir+".lock")
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if _, err := os.Stat(dir + ".epoch"); err == nil {
		return nil
	}
	// a dir without an epoch is one whose creation was cut short
	if err := cache.RemoveTree(dir); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chown(dir, 0, 0); err != nil && os.Geteuid() == 0 { // stages with caches run as root
		return err
	}
	os.Remove(dir + ".restored")
	return store.WriteFileAtomic(dir+".epoch", []byte(randomID()+"\n"), 0o644)
}

// restore merges m, the content r has for cache id, into the local dir
// (once per blob and store: the dir's .restored list). Content already in
// the dir is kept.
func (ad *autoDirs) restore(ctx context.Context, id string, r *cache.Remote, m cache.Mount) error {
	_, err, _ := ad.restores.Do(id+"@"+m.Blob.Digest.String(), func() (any, error) {
		if err := ad.create(ctx, id); err != nil {
			return nil, err
		}
		dir := ad.dir(id)
		lock, err := store.LockFile(ctx, dir+".lock")
		if err != nil {
			return nil, err
		}
		defer lock.Unlock()
		if !restoredHas(dir, m.Blob.Digest) {
			if err := ad.merge(ctx, r, m, dir); err != nil {
				return nil, err
			}
		}
		ad.mu.Lock()
		if ad.used[id] == nil {
			ad.used[id] = &autoUse{}
		}
		ad.used[id].restored = &m
		ad.mu.Unlock()
		return nil, nil
	})
	return err
}

// merge fetches m's blob, extracts it next to dir and merges it in.
func (ad *autoDirs) merge(ctx context.Context, r *cache.Remote, m cache.Mount, dir string) error {
	if !ad.st.HasBlob(m.Blob.Digest) {
		progress.Notef(ad.sink, "auto cache: importing %s (%s)", m.ID, progress.Size(m.Bytes))
		if err := r.FetchBlobTo(ctx, ad.st, m.Blob); err != nil {
			return err
		}
	}
	tmp, err := ad.st.TempDir("autocache-")
	if err != nil {
		return err
	}
	defer cache.RemoveTree(tmp)
	f, err := ad.st.OpenBlob(m.Blob.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := archive.Decompress(f)
	if err != nil {
		return err
	}
	defer zr.Close()
	var opts []archive.ApplyOption
	if os.Geteuid() != 0 {
		opts = append(opts, archive.WithNoSameOwner())
	}
	if _, err := archive.Apply(ctx, tmp, zr, opts...); err != nil {
		return err
	}
	if err := cache.MergeDir(ctx, tmp, dir); err != nil {
		return err
	}
	fh, err := os.OpenFile(dir+".restored", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintln(fh, m.Blob.Digest.String())
	return fh.Close()
}

// restoredHas reports a blob already merged into dir.
func restoredHas(dir string, d v1.Hash) bool {
	f, err := os.Open(dir + ".restored")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() == d.String() {
			return true
		}
	}
	return false
}

// autoMounts makes the mounts of a RUN's automatic caches in the
// snapshot at root (rule 4): a path the snapshot holds something at, or
// reaches through a symlink, or that a RUN --mount covers, is not
// mounted. It returns the mounts and the caches used, as a step record
// keeps them.
func (s *stage) autoMounts(ctx context.Context, root string, aps []autoPath, rms []runMount) ([]specs.Mount, map[string]string, error) {
	var mounts []specs.Mount
	used := map[string]string{}
	for _, ap := range aps {
		if !mountable(root, ap.path, rms) {
			continue
		}
		id := ap.kind.name + "/0"
		dir, epoch, err := s.layers.auto.prepare(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("auto cache %s: %w", ap.path, err)
		}
		if !ap.kind.keep {
			epoch = ""
		}
		used[id] = epoch
		mounts = append(mounts, specs.Mount{Destination: ap.path, Type: "bind", Source: dir, Options: bindOpts(false)})
	}
	s.layers.auto.use(used, true)
	return mounts, used, nil
}

// mountable reports whether cache path p may be mounted on the snapshot
// at root: nothing there (or an empty directory), no symlink on the way,
// and no RUN --mount at p or above it.
func mountable(root, p string, rms []runMount) bool {
	for _, rm := range rms {
		if rm.target != "" && within(p, rm.target) {
			return false
		}
	}
	cur := root
	for _, part := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		cur = filepath.Join(cur, part)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			return true
		}
		if err != nil || fi.Mode()&fs.ModeSymlink != 0 || !fi.IsDir() {
			return false
		}
	}
	full, err := securejoin.SecureJoin(root, p)
	if err != nil {
		return false
	}
	ents, err := os.ReadDir(full)
	return err == nil && len(ents) == 0
}

// ExportAutoCaches gives the content of the automatic caches the build
// used, for a --cache-to export: a cache a RUN of the build wrote is
// staged (a hard-link view, at most limit bytes: the newest files of a
// build cache, all or nothing of a module cache) and turned into a blob
// by pack; one the build only reused comes as the --cache-from cache had
// it. Caches left out are named in the notes.
func (r *Result) ExportAutoCaches(ctx context.Context, limit int64,
	pack func(ctx context.Context, dir string) (v1.Hash, v1.Descriptor, error)) ([]cache.Mount, []string, error) {
	ad := r.layers.auto
	if ad == nil || limit <= 0 {
		return nil, nil, nil
	}
	ad.mu.Lock()
	var ids []string
	use := map[string]autoUse{}
	for id, u := range ad.used {
		ids, use[id] = append(ids, id), *u
	}
	ad.mu.Unlock()
	sort.Strings(ids)
	var out []cache.Mount
	var notes []string
	for _, id := range ids {
		m, note, err := r.exportAutoCache(ctx, ad, id, use[id], limit, pack)
		if err != nil {
			return nil, nil, fmt.Errorf("auto cache %s: %w", id, err)
		}
		if note != "" {
			notes = append(notes, note)
		}
		if m != nil {
			out = append(out, *m)
		}
	}
	return out, notes, nil
}

func (r *Result) exportAutoCache(ctx context.Context, ad *autoDirs, id string, u autoUse, limit int64,
	pack func(ctx context.Context, dir string) (v1.Hash, v1.Descriptor, error)) (*cache.Mount, string, error) {
	k := kindOf(id)
	if k == nil {
		return nil, "", nil
	}
	if !u.dirty {
		// unchanged by this build: as the imported cache has it
		for _, rm := range ad.remotes {
			m, ok := rm.Mount(id)
			if !ok {
				continue
			}
			if u.restored != nil {
				m = *u.restored
			}
			if err := rm.FetchBlobTo(ctx, ad.st, m.Blob); err != nil {
				return nil, "", err
			}
			return &m, "", nil
		}
	}
	dir := ad.dir(id)
	if _, err := os.Stat(dir); err != nil {
		return nil, "", nil
	}
	tmp, err := os.MkdirTemp(r.layers.tmpDir(), "autocache-")
	if err != nil {
		return nil, "", err
	}
	defer cache.RemoveTree(tmp)
	staged := filepath.Join(tmp, "fs")
	n, complete, err := cache.StageDir(ctx, dir, staged, limit, k.trim)
	if err != nil {
		return nil, "", err
	}
	note := ""
	if !complete {
		if !k.trim {
			return nil, fmt.Sprintf("auto cache %s is larger than auto-cache-max=%s: not exported", id, progress.Size(limit)), nil
		}
		note = fmt.Sprintf("auto cache %s is larger than auto-cache-max=%s: exporting its newest %s", id, progress.Size(limit), progress.Size(n))
	}
	diff, blob, err := pack(ctx, staged)
	if err != nil {
		return nil, "", err
	}
	return &cache.Mount{ID: id, DiffID: diff.String(), Blob: blob, Bytes: n}, note, nil
}

// StepMounts are the automatic caches the step key used (for a cache
// export's record of the step).
func (r *Result) StepMounts(key string) []string {
	return r.layers.stepMounts(key)
}
