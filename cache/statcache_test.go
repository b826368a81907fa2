package cache

import (
	"fmt"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// TestStatCacheFlushScales: flushing 100,000 new entries takes seconds,
// not the minute that random-order puts into one bbolt transaction cost
// (each insert shifts a node that grows with every key: quadratic).
func TestStatCacheFlushScales(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100,000 stat cache entries; skipped with -short")
	}
	ix := Open(filepath.Join(t.TempDir(), "cache.db"))
	// the time it takes is BenchmarkStatCacheFlush's (bench/statcache.sh):
	// here, that it writes in key order, in bounded transactions
	const n = flushBatch + 1
	sc := changedEntries(ix, n, 0)
	var batches [][]string
	flushHook = func(b []string) { batches = append(batches, b) }
	defer func() { flushHook = nil }()
	start := time.Now()
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Logf("flushed %d entries in %v", n, time.Since(start))
	if len(batches) != 2 || len(batches[0]) != flushBatch || len(batches[1]) != 1 {
		t.Errorf("%d transactions, want 2 (of %d and 1 entries)", len(batches), flushBatch)
	}
	var all []string
	for _, b := range batches {
		all = append(all, b...)
	}
	if !sort.StringsAreSorted(all) {
		t.Error("entries not written in key order")
	}
	back, err := NewStatCache(ix, "/ctx")
	if err != nil {
		t.Fatal(err)
	}
	if len(back.loaded) != n {
		t.Fatalf("read back %d entries, want %d", len(back.loaded), n)
	}
	if e := back.loaded["/ctx/src/5/5/file-5.go"]; e.Digest != fmt.Sprintf("%064x", 5) || e.Inode != 5 {
		t.Errorf("entry 5 = %+v", e)
	}
}

// changedEntries is a stat cache with n new digests to flush (gen tells
// one generation of them from another).
func changedEntries(ix *Index, n, gen int) *StatCache {
	sc := &StatCache{ix: ix, loaded: map[string]statEntry{}, changed: make(map[string]statEntry, n)}
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("/ctx/src/%d/%d/file-%d.go", i%97, i%13, i)
		sc.changed[p] = statEntry{Size: int64(i), Mtime: int64(i + gen), Ctime: int64(i + gen), Inode: uint64(i),
			Digest: fmt.Sprintf("%064x", i)}
	}
	return sc
}

// BenchmarkStatCacheFlush: writing the stat cache of a context of N files
// into an empty index (a first build), then again with every entry
// changed (a rebuild after touching every file). bench/statcache.sh runs
// it with -benchtime 1x.
func BenchmarkStatCacheFlush(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				ix := Open(filepath.Join(b.TempDir(), "cache.db"))
				first, again := changedEntries(ix, n, 0), changedEntries(ix, n, 1)
				b.StartTimer()
				start := time.Now()
				if err := first.Flush(); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				if err := again.Flush(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(mid.Sub(start).Seconds(), "s-first")
				b.ReportMetric(time.Since(mid).Seconds(), "s-update")
			}
		})
	}
}
