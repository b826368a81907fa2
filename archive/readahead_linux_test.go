package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// readAheadTree holds far more entries than the read-ahead window, with
// files on both sides of the size read ahead and hard links among them.
func readAheadTree(t *testing.T) (string, map[string][]byte) {
	t.Helper()
	d := t.TempDir()
	want := map[string][]byte{}
	sizes := []int{0, 1, 1000, readAheadMax - 1, readAheadMax, readAheadMax + 1, 3 * readAheadMax}
	for i := range 40 {
		dir := fmt.Sprintf("d%02d", i)
		must(t, os.Mkdir(filepath.Join(d, dir), 0o755))
		for j := range 8 {
			name := fmt.Sprintf("%s/f%d", dir, j)
			data := bytes.Repeat([]byte{byte('a' + i%26), byte(j)}, (sizes[(i+j)%len(sizes)]+1)/2)
			data = data[:sizes[(i+j)%len(sizes)]]
			must(t, os.WriteFile(filepath.Join(d, name), data, 0o644))
			want[name] = data
		}
	}
	must(t, os.Link(filepath.Join(d, "d00/f3"), filepath.Join(d, "d39/link")))
	return d, want
}

func TestWriteLayerReadAhead(t *testing.T) {
	d, want := readAheadTree(t)
	layer := writeLayer(t, d)
	var names []string
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		names = append(names, hdr.Name)
		switch {
		case hdr.Name == "d39/link":
			if hdr.Typeflag != tar.TypeLink || hdr.Linkname != "d00/f3" {
				t.Errorf("d39/link: type %c link %q, want a hard link to d00/f3", hdr.Typeflag, hdr.Linkname)
			}
		case hdr.Typeflag == tar.TypeReg:
			got, err := io.ReadAll(tr)
			must(t, err)
			if !bytes.Equal(got, want[hdr.Name]) {
				t.Errorf("%s: %d bytes in the layer, want %d (content differs)", hdr.Name, len(got), len(want[hdr.Name]))
			}
			delete(want, hdr.Name)
		}
	}
	if len(want) != 0 {
		t.Errorf("files missing from the layer: %d", len(want))
	}
	// walk order: each directory, then its children, sorted
	if !slices.IsSorted(names) {
		t.Errorf("entries not in walk order: %q…", names[:10])
	}
	if again := writeLayer(t, d); !bytes.Equal(layer, again) {
		t.Error("WriteLayer is not deterministic")
	}
}

// failAfter fails every write once n bytes went through.
type failAfter struct{ n int }

var errSink = errors.New("sink full")

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errSink
	}
	return len(p), nil
}

// A failing writer or a cancel mid-layer ends WriteLayer with that error,
// and no reader or walker is left running when it returns (the caller may
// delete the tree right after).
func TestWriteLayerReadAheadStops(t *testing.T) {
	d, _ := readAheadTree(t)
	before := runtime.NumGoroutine()
	left := func(what string) {
		if n := runtime.NumGoroutine() - before; n > 0 {
			t.Errorf("%s: %d goroutines still running when WriteLayer returned", what, n)
		}
	}
	if err := WriteLayer(context.Background(), &failAfter{n: 100 << 10}, d); !errors.Is(err, errSink) {
		t.Errorf("failing writer: got %v, want %v", err, errSink)
	}
	left("failing writer")
	ctx, cancel := context.WithCancel(context.Background())
	if err := WriteLayer(ctx, &cancelAfter{n: 100 << 10, cancel: cancel}, d); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled mid-layer: got %v, want context.Canceled", err)
	}
	left("canceled")
}

type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if c.n -= len(p); c.n < 0 {
		c.cancel()
	}
	return len(p), nil
}
