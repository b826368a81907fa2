package cache

import (
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/store"
)

// PruneOptions limit what Prune removes. The zero value removes the whole
// build cache: every snapshot, the cache index and the cache mounts.
type PruneOptions struct {
	// KeepBytes keeps the most recently used snapshots up to this size.
	KeepBytes int64
	// Until removes only snapshots not used for at least this long.
	Until time.Duration
}

// PruneReport says what Prune removed.
type PruneReport struct {
	Blobs, Snapshots int
	Bytes            int64
}

// Prune removes build cache — snapshots (they can be made again from blobs
// or by rerunning steps), and with no limits the cache index and cache
// mounts — and then every blob no named image refers to. It refuses while
// another kiln process has the store open.
func Prune(st *store.Store, opts PruneOptions) (PruneReport, error) {
	var rep PruneReport
	if busy, err := st.Busy(); err != nil || busy {
		if err == nil {
			err = fmt.Errorf("cache: another kiln process is using %s", st.Root())
		}
		return rep, err
	}
	sn, err := snapshot.Open(st, snapshot.Auto)
	if err != nil {
		return rep, err
	}
	infos, err := sn.List()
	if err != nil {
		return rep, err
	}
	doomed, all := pruneCandidates(infos, opts)
	if all {
		for _, p := range []string{filepath.Join(st.Root(), "cache.db"), filepath.Join(st.Root(), "mounts")} {
			rep.Bytes += store.DirBytes(p)
			if err := RemoveTree(p); err != nil {
				return rep, err
			}
		}
	}
	for _, in := range doomed {
		if err := sn.Remove(in.ID); err != nil {
			return rep, err
		}
		rep.Bytes += in.Bytes
		rep.Snapshots++
	}
	n, bytes, err := st.PruneBlobs()
	rep.Blobs, rep.Bytes = n, rep.Bytes+bytes
	return rep, err
}

// pruneCandidates picks the snapshots to remove: all of them without
// limits, else the least recently used beyond KeepBytes and those unused
// for Until.
func pruneCandidates(infos []snapshot.Info, opts PruneOptions) ([]snapshot.Info, bool) {
	if opts.KeepBytes == 0 && opts.Until == 0 {
		return infos, true
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].LastUsed.After(infos[j].LastUsed) })
	var out []snapshot.Info
	var kept int64
	for _, in := range infos {
		old := opts.Until > 0 && time.Since(in.LastUsed) >= opts.Until
		over := opts.KeepBytes > 0 && kept+in.Bytes > opts.KeepBytes
		if old || over {
			out = append(out, in)
			continue
		}
		kept += in.Bytes
	}
	return out, false
}

// Usage is the disk use of a store by kind.
type Usage struct {
	store.Usage
	Snapshots     int
	SnapshotBytes int64
}

// DiskUsage measures a store and its build cache.
func DiskUsage(st *store.Store) (Usage, error) {
	su, err := st.DiskUsage()
	if err != nil {
		return Usage{}, err
	}
	u := Usage{Usage: su}
	sn, err := snapshot.Open(st, snapshot.Auto)
	if err != nil {
		return u, err
	}
	infos, err := sn.List()
	if err != nil {
		return u, err
	}
	for _, in := range infos {
		u.Snapshots++
		u.SnapshotBytes += in.Bytes
	}
	return u, nil
}
