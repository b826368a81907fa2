package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/kiln-build/kiln/internal/rawfile"
	bolt "go.etcd.io/bbolt"
)

// StatCache digests files, remembering (path, size, mtime, ctime, inode) →
// digest across builds, so an unchanged file is never read twice.
type StatCache struct {
	ix      *Index
	mu      sync.Mutex
	loaded  map[string]statEntry
	changed map[string]statEntry
	files   int // digests asked for
	read    int // files actually read
}

// Counts reports how many file digests were asked for and how many files
// had to be read (the rest came from the stat cache).
func (sc *StatCache) Counts() (files, read int) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.files, sc.read
}

type statEntry struct {
	Size   int64  `json:"s"`
	Mtime  int64  `json:"m"`
	Ctime  int64  `json:"c"`
	Inode  uint64 `json:"i"`
	Digest string `json:"d"`
}

// NewStatCache loads the stat cache entries of the files under dir.
func NewStatCache(ix *Index, dir string) (*StatCache, error) {
	sc := &StatCache{ix: ix, loaded: map[string]statEntry{}, changed: map[string]statEntry{}}
	db, err := ix.db(true)
	if err != nil || db == nil {
		return sc, err
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketStat)
		if b == nil {
			return nil
		}
		prefix := []byte(strings.TrimSuffix(dir, "/") + "/")
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var e statEntry
			if json.Unmarshal(v, &e) == nil {
				sc.loaded[string(k)] = e
			}
		}
		return nil
	})
	return sc, err
}

// Digest returns the sha256 of the regular file abs whose Lstat is fi.
func (sc *StatCache) Digest(abs string, fi os.FileInfo) (string, error) {
	want, ok := statKey(fi)
	if !ok {
		return hashPath(abs)
	}
	sc.mu.Lock()
	e, ok := sc.loaded[abs]
	sc.files++
	sc.mu.Unlock()
	if ok && e.Size == want.Size && e.Mtime == want.Mtime && e.Ctime == want.Ctime && e.Inode == want.Inode {
		return e.Digest, nil
	}
	d, err := hashPath(abs)
	if err != nil {
		return "", err
	}
	want.Digest = d
	sc.mu.Lock()
	sc.read++
	sc.loaded[abs] = want
	sc.changed[abs] = want
	sc.mu.Unlock()
	return d, nil
}

// flushBatch is how many stat cache entries one bbolt transaction writes
// (1,000,000 entries: 20,000 to 200,000 a batch all take 3-8 s here).
// bbolt splits nodes only when a transaction commits, so one huge
// transaction grows a single node key by key; sorted keys in bounded
// batches keep every put an append and every commit small.
const flushBatch = 100_000

// flushHook, when set (by tests), sees each batch Flush writes.
var flushHook func(batch []string)

// Flush writes the new digests back, in key order and in batches of
// flushBatch entries per transaction. A crash between batches leaves the
// entries of the batches already committed: each is a correct digest.
func (sc *StatCache) Flush() error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if len(sc.changed) == 0 {
		return nil
	}
	keys := make([]string, 0, len(sc.changed))
	for k := range sc.changed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for len(keys) > 0 {
		batch := keys[:min(flushBatch, len(keys))]
		if flushHook != nil {
			flushHook(batch)
		}
		if err := sc.ix.update(func(tx *bolt.Tx) error { return sc.putSorted(tx, batch) }); err != nil {
			return fmt.Errorf("cache: writing the stat cache: %w", err)
		}
		for _, k := range batch {
			delete(sc.changed, k)
		}
		keys = keys[len(batch):]
	}
	return nil
}

// putSorted writes the entries of keys (sorted) into the stat bucket.
func (sc *StatCache) putSorted(tx *bolt.Tx, keys []string) error {
	b, err := tx.CreateBucketIfNotExists(bucketStat)
	if err != nil {
		return err
	}
	b.FillPercent = 0.9 // mostly appends: pack the pages
	for _, k := range keys {
		data, err := json.Marshal(sc.changed[k])
		if err != nil {
			return err
		}
		if err := b.Put([]byte(k), data); err != nil {
			return err
		}
	}
	return nil
}

func hashPath(abs string) (string, error) {
	f, err := rawfile.Open(abs, 0)
	if err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := f.WriteTo(h); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
