package cache

import (
	"fmt"
	"path/filepath"
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
	const n = 100_000
	sc := &StatCache{ix: ix, loaded: map[string]statEntry{}, changed: make(map[string]statEntry, n)}
	for i := 0; i < n; i++ {
		p := fmt.Sprintf("/ctx/src/%d/%d/file-%d.go", i%97, i%13, i)
		sc.changed[p] = statEntry{Size: int64(i), Mtime: int64(i), Ctime: int64(i), Inode: uint64(i),
			Digest: fmt.Sprintf("%064x", i)}
	}
	start := time.Now()
	if err := sc.Flush(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("flushed %d entries in %v", n, took)
	if took > 3*time.Second {
		t.Errorf("flushing %d entries took %v, want under 3s", n, took)
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
