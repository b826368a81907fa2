package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Records are small JSON documents kept beside an image's manifest, by
// kind: "build" holds what the build that made the image knew of each
// layer (see image.Record). They go with the manifest: a prune that
// removes it removes them.

func (s *Store) recordPath(kind string, d v1.Hash) string {
	return filepath.Join(s.root, "records", kind, d.Hex+".json")
}

// PutRecord stores data as the record of kind for the manifest d.
func (s *Store) PutRecord(kind string, d v1.Hash, data []byte) error {
	p := s.recordPath(kind, d)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := writeIfChanged(p, data); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// writeIfChanged writes data to p atomically unless p holds it already:
// a no-op rebuild rewrites its records and last.json with the same bytes,
// and each write costs an fsync (a third of a no-op build's time here).
func writeIfChanged(p string, data []byte) error {
	if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return WriteFileAtomic(p, data, 0o644)
}

// Record returns the record of kind for the manifest d; ErrNotFound when
// there is none (an image kiln did not build).
func (s *Store) Record(kind string, d v1.Hash) ([]byte, error) {
	b, err := os.ReadFile(s.recordPath(kind, d))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: %s record of %s", ErrNotFound, kind, d)
	}
	return b, err
}

// pruneRecords removes the records whose manifest is gone.
func (s *Store) pruneRecords() {
	kinds, _ := os.ReadDir(filepath.Join(s.root, "records"))
	for _, k := range kinds {
		dir := filepath.Join(s.root, "records", k.Name())
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			hex := e.Name()[:len(e.Name())-len(filepath.Ext(e.Name()))]
			if !s.HasBlob(v1.Hash{Algorithm: "sha256", Hex: hex}) {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}

// SetLast remembers desc as the image the last build made (kiln explain
// --last).
func (s *Store) SetLast(desc v1.Descriptor) error {
	b, err := json.Marshal(desc)
	if err != nil {
		return err
	}
	if err := writeIfChanged(filepath.Join(s.root, "last.json"), b); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// Last is the image the last build made; ErrNotFound before any build,
// or when a prune removed it.
func (s *Store) Last() (v1.Descriptor, error) {
	var desc v1.Descriptor
	b, err := os.ReadFile(filepath.Join(s.root, "last.json"))
	if os.IsNotExist(err) {
		return desc, fmt.Errorf("%w: no build yet in %s", ErrNotFound, s.root)
	}
	if err != nil {
		return desc, fmt.Errorf("store: %w", err)
	}
	if err := json.Unmarshal(b, &desc); err != nil {
		return desc, fmt.Errorf("store: last.json: %w", err)
	}
	if !s.HasBlob(desc.Digest) {
		return desc, fmt.Errorf("%w: the last build's image %s was pruned", ErrNotFound, desc.Digest)
	}
	return desc, nil
}
