package store

import (
	"os"
	"path/filepath"
	"time"
)

// SnapshotUsage is one snapshot's size and when a build last used it.
type SnapshotUsage struct {
	ID       string
	Bytes    int64
	LastUsed time.Time
}

// SnapshotUsage measures every snapshot.
func (s *Store) SnapshotUsage() ([]SnapshotUsage, error) {
	ids, err := s.Snapshots()
	if err != nil {
		return nil, err
	}
	out := make([]SnapshotUsage, 0, len(ids))
	for _, id := range ids {
		dir := filepath.Join(s.root, "snapshots", id)
		u := SnapshotUsage{ID: id, Bytes: duBytes(dir)}
		if fi, err := os.Stat(dir); err == nil {
			u.LastUsed = fi.ModTime()
		}
		out = append(out, u)
	}
	return out, nil
}

// TouchSnapshot records that a build used snapshot id now (prune keeps
// recently used snapshots).
func (s *Store) TouchSnapshot(id string) {
	now := time.Now()
	_ = os.Chtimes(filepath.Join(s.root, "snapshots", id), now, now)
}

// Usage is the store's disk use by kind.
type Usage struct {
	Images                   int
	Blobs, Snapshots, Mounts int
	BlobBytes, SnapshotBytes int64
	MountBytes, TempBytes    int64
}

// DiskUsage measures the store.
func (s *Store) DiskUsage() (Usage, error) {
	var u Usage
	imgs, err := s.Images()
	if err != nil {
		return u, err
	}
	u.Images = len(imgs)
	ents, _ := os.ReadDir(filepath.Join(s.root, "blobs", "sha256"))
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			u.Blobs++
			u.BlobBytes += fi.Size()
		}
	}
	snaps, err := s.SnapshotUsage()
	if err != nil {
		return u, err
	}
	for _, sn := range snaps {
		u.Snapshots++
		u.SnapshotBytes += sn.Bytes
	}
	mounts, _ := os.ReadDir(filepath.Join(s.root, "mounts", "cache"))
	for _, m := range mounts {
		if m.IsDir() {
			u.Mounts++
		}
	}
	u.MountBytes = duBytes(filepath.Join(s.root, "mounts"))
	u.TempBytes = duBytes(filepath.Join(s.root, "tmp"))
	return u, nil
}
