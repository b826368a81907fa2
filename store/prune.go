package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// PruneReport says what Prune removed.
type PruneReport struct {
	Blobs, Snapshots int
	Bytes            int64
}

// PruneOptions limit what Prune removes. The zero value removes every
// snapshot and cache mount and every blob no named image refers to.
type PruneOptions struct {
	// KeepBytes keeps the most recently used snapshots up to this size.
	KeepBytes int64
	// Until removes only snapshots not used for at least this long.
	Until time.Duration
}

// Prune removes cached snapshots (they can be made again from blobs or by
// rerunning steps), cache mounts, and blobs no named image refers to. It
// refuses to run while another kiln process has the store open.
func (s *Store) Prune(opts PruneOptions) (PruneReport, error) {
	var rep PruneReport
	if busy, err := s.othersActive(); err != nil || busy {
		if err == nil {
			err = fmt.Errorf("store: another kiln process is using %s", s.root)
		}
		return rep, err
	}
	err := s.withIndexLock(func() error {
		keep, err := s.referencedBlobs()
		if err != nil {
			return err
		}
		doomed, all, err := s.pruneCandidates(opts)
		if err != nil {
			return err
		}
		if all {
			// the cache index and cache mounts go with a full prune
			for _, p := range []string{filepath.Join(s.root, "cache.db"), filepath.Join(s.root, "mounts")} {
				rep.Bytes += duBytes(p)
				if err := removeAll(p); err != nil {
					return err
				}
			}
		}
		for _, u := range doomed {
			rep.Bytes += u.Bytes
			if err := removeAll(filepath.Join(s.root, "snapshots", u.ID)); err != nil {
				return err
			}
			rep.Snapshots++
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
				rep.Bytes += fi.Size()
			}
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
			rep.Blobs++
		}
		return nil
	})
	return rep, err
}

// pruneCandidates picks the snapshots to remove: all of them without
// filters, else the least recently used beyond KeepBytes and those unused
// for Until.
func (s *Store) pruneCandidates(opts PruneOptions) ([]SnapshotUsage, bool, error) {
	us, err := s.SnapshotUsage()
	if err != nil {
		return nil, false, err
	}
	if opts.KeepBytes == 0 && opts.Until == 0 {
		return us, true, nil
	}
	sort.Slice(us, func(i, j int) bool { return us[i].LastUsed.After(us[j].LastUsed) })
	var out []SnapshotUsage
	var kept int64
	for _, u := range us {
		old := opts.Until > 0 && time.Since(u.LastUsed) >= opts.Until
		over := opts.KeepBytes > 0 && kept+u.Bytes > opts.KeepBytes
		if old || over {
			out = append(out, u)
			continue
		}
		kept += u.Bytes
	}
	return out, false, nil
}

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

func duBytes(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
