package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestBlobsAreContentAddressed(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, n, err := s.WriteBlob(bytes.NewReader([]byte("hello")), v1.Hash{})
	if err != nil || n != 5 {
		t.Fatal(err, n)
	}
	if d.String() != "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" {
		t.Errorf("digest %s", d)
	}
	if b, _ := s.ReadBlob(d); string(b) != "hello" {
		t.Errorf("read back %q", b)
	}
	bad, _ := v1.NewHash("sha256:" + fmt.Sprintf("%064d", 0))
	if _, _, err := s.WriteBlob(bytes.NewReader([]byte("x")), bad); err == nil {
		t.Error("a digest mismatch must be refused")
	}
	if s.HasBlob(bad) {
		t.Error("a mismatching blob was stored")
	}
}

// TestConcurrentTagging: two stores (as two kiln processes) tagging at once
// lose no name and never corrupt index.json.
func TestConcurrentTagging(t *testing.T) {
	root := t.TempDir()
	a, _ := Open(root)
	b, _ := Open(root)
	defer a.Close()
	defer b.Close()
	d, err := a.WriteBlobBytes([]byte(`{"schemaVersion":2}`))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			if err := s.Tag(fmt.Sprintf("example.com/img:%d", i), v1.Descriptor{Digest: d, Size: 19, MediaType: "application/vnd.oci.image.manifest.v1+json"}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	imgs, err := a.Images()
	if err != nil || len(imgs) != 40 {
		t.Fatalf("%d images, err %v", len(imgs), err)
	}
}

// TestTempSweepAndBusy: temp dirs of dead processes are swept on Open; Busy
// tells another process has the store open (prune then refuses).
func TestTempSweepAndBusy(t *testing.T) {
	root := t.TempDir()
	a, _ := Open(root)
	stale := filepath.Join(root, "tmp", "p999999-crashed")
	os.MkdirAll(filepath.Join(stale, "snap-x"), 0o755)
	b, _ := Open(root)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp dir not swept: %v", err)
	}
	if busy, err := b.Busy(); err != nil || !busy {
		t.Errorf("Busy = %v, %v while another process has the store open", busy, err)
	}
	a.Close()
	if busy, err := b.Busy(); err != nil || busy {
		t.Errorf("Busy = %v, %v after the other closed", busy, err)
	}
	b.Close()
	if left, _ := os.ReadDir(filepath.Join(root, "tmp")); len(left) != 0 {
		t.Errorf("temp dirs left after Close: %d", len(left))
	}
}
