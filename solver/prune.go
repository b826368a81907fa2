package solver

import (
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/store"
)

// The build cache is the solver's: what kiln prune and kiln du work on,
// re-exported here so that a program driving builds needs no other
// package for it.

// PruneOptions says what Prune keeps (cache.PruneOptions).
type PruneOptions = cache.PruneOptions

// PruneReport is what Prune removed.
type PruneReport = cache.PruneReport

// Usage is the store's disk use by kind.
type Usage = cache.Usage

// Prune removes build cache (snapshots, then unreferenced blobs) from st
// as opts allow; it refuses while a build runs in st.
func Prune(st *store.Store, opts PruneOptions) (PruneReport, error) { return cache.Prune(st, opts) }

// DiskUsage reports what st holds.
func DiskUsage(st *store.Store) (Usage, error) { return cache.DiskUsage(st) }
