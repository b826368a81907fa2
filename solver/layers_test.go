package solver

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
)

// fakeBase makes base layers "local" by recording the call, counting how
// many run at once.
type fakeBase struct {
	mu              sync.Mutex
	unpacked, blobs map[string]int
	running, most   atomic.Int32
	release         chan struct{}
}

func (f *fakeBase) Unpack(_ context.Context, l image.Layer) (string, error) {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		m := f.most.Load()
		if n <= m || f.most.CompareAndSwap(m, n) {
			break
		}
	}
	<-f.release
	f.mu.Lock()
	f.unpacked[l.DiffID.Hex]++
	f.mu.Unlock()
	return "/snapshots/" + l.DiffID.Hex, nil
}

func (f *fakeBase) FetchBlob(_ context.Context, l image.Layer) error {
	f.mu.Lock()
	f.blobs[l.Blob.Digest.Hex]++
	f.mu.Unlock()
	return nil
}

func hash(i int) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064d", i)}
}

// TestLowersMakesBaseLayersLocalAtOnce: every base layer not local yet is
// unpacked once, UnpackJobs at a time, however many wait; the lowers come
// top first.
func TestLowersMakesBaseLayersLocalAtOnce(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sn, err := snapshot.Open(st, snapshot.Native)
	if err != nil {
		t.Fatal(err)
	}
	fb := &fakeBase{unpacked: map[string]int{}, blobs: map[string]int{}, release: make(chan struct{})}
	ls := newLayerStore(st, sn, cache.Open(filepath.Join(st.Root(), "cache.db")), nil, fb, progress.Discard, t.TempDir())
	const n = 12
	img := &image.Image{}
	for i := 0; i < n; i++ {
		l := image.Layer{DiffID: hash(i), Blob: v1.Descriptor{Digest: hash(100 + i)}}
		if i == 3 {
			l.Dir = "/already/here"
		}
		img.Layers = append(img.Layers, l)
	}
	close(fb.release)
	// two stages asking for the same image at once
	var wg sync.WaitGroup
	for k := 0; k < 2; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lowers, err := ls.lowers(context.Background(), img)
			if err != nil {
				t.Error(err)
				return
			}
			if len(lowers) != n || lowers[0] != "/snapshots/"+hash(n-1).Hex || lowers[n-1-3] != "/already/here" {
				t.Errorf("lowers %v", lowers)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		if got := fb.unpacked[hash(i).Hex]; i != 3 && (got < 1 || got > 2) {
			t.Errorf("layer %d unpacked %d times", i, got)
		}
	}
	if most := fb.most.Load(); most > int32(2*source.UnpackJobs) {
		t.Errorf("%d layers unpacked at once, want at most %d per caller", most, source.UnpackJobs)
	}
	if fb.unpacked[hash(3).Hex] != 0 {
		t.Error("a local layer was unpacked")
	}
	// FetchBlob is for layers whose blob the store lacks
	res := &Result{layers: ls}
	if err := res.FetchBlobs(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	if len(fb.blobs) != n {
		t.Errorf("fetched %d blobs, want %d", len(fb.blobs), n)
	}
}
