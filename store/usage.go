package store

import (
	"os"
	"path/filepath"
)

// Usage is the disk use of the store's own parts (snapshots are counted
// by their owner, package snapshot).
type Usage struct {
	Images                int
	Blobs                 int
	BlobBytes             int64
	Mounts                int
	MountBytes, TempBytes int64
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
	mounts, _ := os.ReadDir(filepath.Join(s.root, "mounts", "cache"))
	for _, m := range mounts {
		if m.IsDir() {
			u.Mounts++
		}
	}
	u.MountBytes = DirBytes(filepath.Join(s.root, "mounts"))
	u.TempBytes = DirBytes(filepath.Join(s.root, "tmp"))
	return u, nil
}
