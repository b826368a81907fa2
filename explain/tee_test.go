package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/store"
)

// TestLayerScannerKeepsTheScan: a tar written through a LayerScanner, in
// writes of any size, leaves the same scan a read of the blob makes, kept
// under the blob's digest; a broken tar leaves none and never blocks the
// writer.
func TestLayerScannerKeepsTheScan(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tarball := tarOf(t, dir("/usr"), file("/usr/big", strings.Repeat("x", 3*scanChunk+17)),
		file("/root/.cache/go-build/README", "x"), whiteout("/var/cache/old"))
	want, err := scanTar(context.Background(), bytes.NewReader(tarball))
	if err != nil {
		t.Fatal(err)
	}
	blob := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	s := NewLayerScanner(context.Background())
	for rest := tarball; len(rest) > 0; {
		n := min(len(rest), 1000)
		s.Write(rest[:n])
		rest = rest[n:]
	}
	s.Keep(st, blob)
	got := cachedScan(st, v1.Descriptor{Digest: blob})
	if got == nil {
		t.Fatal("no scan kept")
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Errorf("kept scan\n%s\nwant\n%s", gj, wj)
	}

	broken := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("cd", 32)}
	s = NewLayerScanner(context.Background())
	for range 4 * scanQueue { // more than the queue holds: the failed scan must keep draining
		s.Write(bytes.Repeat([]byte("not a tar "), scanChunk/10))
	}
	s.Keep(st, broken)
	if cachedScan(st, v1.Descriptor{Digest: broken}) != nil {
		t.Error("a failed scan was kept")
	}
}
