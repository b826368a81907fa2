package store

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// PruneBlobs removes every blob no named image refers to and returns how
// many it removed and their bytes.
func (s *Store) PruneBlobs() (int, int64, error) {
	n, bytes := 0, int64(0)
	err := s.withIndexLock(func() error {
		keep, err := s.referencedBlobs()
		if err != nil {
			return err
		}
		dir := filepath.Join(s.root, "blobs", "sha256")
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if keep["sha256:"+e.Name()] {
				continue
			}
			if fi, err := e.Info(); err == nil {
				bytes += fi.Size()
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
			n++
		}
		s.pruneRecords()
		return nil
	})
	return n, bytes, err
}

// Busy reports whether a kiln process other than this one has the store
// open (and so may be using its snapshots).
func (s *Store) Busy() (bool, error) { return s.othersActive() }

// othersActive reports whether a kiln process other than this one holds a
// temp dir lock.
func (s *Store) othersActive() (bool, error) {
	dir := filepath.Join(s.root, "tmp")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if p == s.tmp {
			continue
		}
		if strings.HasPrefix(e.Name(), newPrefix) {
			return true, nil // a kiln process is starting
		}
		f, err := os.Open(filepath.Join(p, ".lock"))
		if err != nil {
			continue
		}
		busy := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil
		f.Close()
		if busy {
			return true, nil
		}
		_ = removeAll(p)
	}
	return false, nil
}

// referencedBlobs walks every named image (manifests and indexes) and returns
// the digests they reach.
func (s *Store) referencedBlobs() (map[string]bool, error) {
	imgs, err := s.Images()
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	var walk func(d v1.Hash) error
	walk = func(d v1.Hash) error {
		if keep[d.String()] {
			return nil
		}
		keep[d.String()] = true
		b, err := s.ReadBlob(d)
		if err != nil {
			return nil // a missing blob is not ours to keep
		}
		var m struct {
			Config    *v1.Descriptor  `json:"config"`
			Layers    []v1.Descriptor `json:"layers"`
			Manifests []v1.Descriptor `json:"manifests"`
		}
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		if m.Config != nil {
			keep[m.Config.Digest.String()] = true
		}
		for _, l := range m.Layers {
			keep[l.Digest.String()] = true
		}
		for _, c := range m.Manifests {
			if err := walk(c.Digest); err != nil {
				return err
			}
		}
		return nil
	}
	for _, im := range imgs {
		if err := walk(im.Descriptor.Digest); err != nil {
			return nil, err
		}
	}
	return keep, nil
}

// DirBytes adds up the regular files under dir.
func DirBytes(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
