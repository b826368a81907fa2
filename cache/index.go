package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketSteps = []byte("steps")
	bucketStat  = []byte("stat")
)

// Record is what the cache keeps for one step that made a layer.
type Record struct {
	Snapshot string    `json:"snapshot"`         // snapshot id in the store
	Created  time.Time `json:"created"`          // when the step first ran (history time)
	DiffID   string    `json:"diffID,omitempty"` // known once exported
	Blob     string    `json:"blob,omitempty"`   // compressed layer digest, once exported
	Size     int64     `json:"size,omitempty"`   // compressed size
	Media    string    `json:"media,omitempty"`  // compressed media type
	Bytes    int64     `json:"bytes,omitempty"`  // file content in the layer
	// Mounts are the cache mounts the step used that are not in its
	// layer (automatic toolchain caches), by id: the mount's epoch when
	// the step may be reused only while the mount keeps what it wrote,
	// else "".
	Mounts map[string]string `json:"mounts,omitempty"`
}

// Index is the cache database. It opens the file for each operation only,
// so several kiln processes can share it; bbolt's transactions make every
// write all-or-nothing, so a crash leaves the old or the new entry.
type Index struct{ path string }

// Open returns the index kept at path (created on first write).
func Open(path string) *Index { return &Index{path: path} }

func (ix *Index) db(readOnly bool) (*bolt.DB, error) {
	if readOnly {
		if _, err := os.Stat(ix.path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	db, err := bolt.Open(ix.path, 0o600, &bolt.Options{Timeout: 30 * time.Second, ReadOnly: readOnly})
	if err != nil {
		return nil, fmt.Errorf("cache: opening %s: %w", ix.path, err)
	}
	return db, nil
}

// Get returns the record for key.
func (ix *Index) Get(key string) (Record, bool, error) {
	var r Record
	found := false
	db, err := ix.db(true)
	if err != nil || db == nil {
		return r, false, err
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSteps)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		found = true
		return json.Unmarshal(v, &r)
	})
	return r, found, err
}

// Put stores the record for key.
func (ix *Index) Put(key string, r Record) error {
	return ix.update(func(tx *bolt.Tx) error {
		return putJSON(tx, bucketSteps, key, r)
	})
}

// SetLayer records the exported layer of the step key, if it has a record.
func (ix *Index) SetLayer(key, diffID, blob, media string, size int64) error {
	return ix.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSteps)
		if b == nil {
			return nil
		}
		var r Record
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		r.DiffID, r.Blob, r.Media, r.Size = diffID, blob, media, size
		return putJSON(tx, bucketSteps, key, r)
	})
}

// Reset forgets everything (after the snapshots are pruned).
func (ix *Index) Reset() error {
	err := os.Remove(ix.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (ix *Index) update(fn func(tx *bolt.Tx) error) error {
	db, err := ix.db(false)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(fn)
}

func putJSON(tx *bolt.Tx, bucket []byte, key string, v any) error {
	b, err := tx.CreateBucketIfNotExists(bucket)
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}
