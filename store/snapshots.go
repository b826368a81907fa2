package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// SnapshotPath is the files directory of the committed snapshot id.
func (s *Store) SnapshotPath(id string) string {
	return filepath.Join(s.root, "snapshots", id, "fs")
}

// HasSnapshot reports whether snapshot id is committed.
func (s *Store) HasSnapshot(id string) bool {
	_, err := os.Stat(s.SnapshotPath(id))
	return err == nil
}

// CommitSnapshot moves the finished directory fs (under this store's temp
// space) into place as snapshot id. If the snapshot already exists (another
// build made it first), fs is removed and the existing one is kept.
func (s *Store) CommitSnapshot(fs, id string) error {
	dir := filepath.Join(s.root, "snapshots", id)
	if s.HasSnapshot(id) {
		return removeAll(fs)
	}
	tmp, err := os.MkdirTemp(s.tmp, "commit-")
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if err := os.Rename(fs, filepath.Join(tmp, "fs")); err != nil {
		return fmt.Errorf("store: committing snapshot: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if errors.Is(err, os.ErrExist) || s.HasSnapshot(id) {
			return removeAll(tmp)
		}
		return fmt.Errorf("store: committing snapshot: %w", err)
	}
	return nil
}

// Snapshots lists the committed snapshot ids.
func (s *Store) Snapshots() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "snapshots"))
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}
