package source_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
	"github.com/klauspost/pgzip"
)

// gzLayer is a gzip layer tar of files (name → content) and its descriptor.
func gzLayer(t *testing.T, files map[string]string) ([]byte, v1.Descriptor) {
	t.Helper()
	var buf bytes.Buffer
	zw := pgzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for n, c := range files {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(c)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(c))
	}
	tw.Close()
	zw.Close()
	d, n, err := v1.SHA256(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), v1.Descriptor{MediaType: types.DockerLayer, Digest: d, Size: n}
}

// countingOpener serves data, counting opens and bytes read.
type countingOpener struct {
	data  []byte
	opens int
	read  atomic.Int64
}

func (c *countingOpener) open() (io.ReadCloser, error) {
	c.opens++
	return io.NopCloser(&countingReader{r: bytes.NewReader(c.data), n: &c.read}), nil
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestUnpackBlobStreams: one transfer gives both the snapshot and the
// kept blob; a second unpack of the same layer transfers nothing.
func TestUnpackBlobStreams(t *testing.T) {
	_, st, sn := newResolver(t)
	data, desc := gzLayer(t, map[string]string{"a/b.txt": "hello", "c.txt": strings.Repeat("x", 100_000)})
	o := &countingOpener{data: data}
	ctx := context.Background()
	if err := source.UnpackBlob(ctx, st, sn, desc, "l1", o.open); err != nil {
		t.Fatal(err)
	}
	if o.opens != 1 || o.read.Load() != desc.Size {
		t.Errorf("%d opens, %d bytes read, want 1 and %d", o.opens, o.read.Load(), desc.Size)
	}
	if b, err := os.ReadFile(filepath.Join(sn.Path("l1"), "a/b.txt")); err != nil || string(b) != "hello" {
		t.Errorf("a/b.txt = %q, %v", b, err)
	}
	if got, err := st.ReadBlob(desc.Digest); err != nil || !bytes.Equal(got, data) {
		t.Errorf("blob not kept (%v)", err)
	}
	if err := source.UnpackBlob(ctx, st, sn, desc, "l1", o.open); err != nil || o.opens != 1 {
		t.Errorf("second unpack: %v, %d opens", err, o.opens)
	}
	// a snapshot gone, the blob kept: extracted again from the store
	if err := sn.Remove("l1"); err != nil {
		t.Fatal(err)
	}
	if err := source.UnpackBlob(ctx, st, sn, desc, "l1", nil); err != nil || !sn.Exists("l1") {
		t.Errorf("unpack from the store: %v", err)
	}
}

// TestUnpackBlobCorrupt: a blob whose bytes do not match its descriptor
// is fetched again, and in the end leaves neither a snapshot nor a blob,
// with a digest error even when the decompressor or the tar reader failed
// on the corrupt bytes first.
func TestUnpackBlobCorrupt(t *testing.T) {
	files := map[string]string{"f": strings.Repeat("y", 50_000)}
	for i := 0; i < 50; i++ {
		files[fmt.Sprintf("d/%d", i)] = fmt.Sprint(i)
	}
	data, desc := gzLayer(t, files)
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"FlippedByteInTrailer", func() []byte { b := bytes.Clone(data); b[len(b)-5] ^= 1; return b }()},
		{"FlippedByteInTar", func() []byte { b := bytes.Clone(data); b[len(b)/2] ^= 0x55; return b }()},
		{"Truncated", data[:len(data)-3]},
		{"TrailingBytes", append(bytes.Clone(data), 0, 0, 0)},
		{"OtherBlob", func() []byte { d, _ := gzLayer(t, map[string]string{"f": "other"}); return d }()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, st, sn := newResolver(t)
			o := &countingOpener{data: tt.data}
			err := source.UnpackBlob(context.Background(), st, sn, desc, "bad", o.open)
			if !errors.Is(err, store.ErrDigest) {
				t.Fatalf("err = %v, want store.ErrDigest", err)
			}
			if o.opens != 3 {
				t.Errorf("fetched %d times, want 3", o.opens)
			}
			if sn.Exists("bad") || st.HasBlob(desc.Digest) {
				t.Errorf("a corrupt blob left a snapshot (%v) or a blob (%v)", sn.Exists("bad"), st.HasBlob(desc.Digest))
			}
		})
	}
}

func TestFetchBlob(t *testing.T) {
	_, st, sn := newResolver(t)
	data, desc := gzLayer(t, map[string]string{"f": "z"})
	o := &countingOpener{data: data}
	if err := source.FetchBlob(context.Background(), st, desc, o.open); err != nil {
		t.Fatal(err)
	}
	if !st.HasBlob(desc.Digest) || sn.Exists(snapshot.LayerID(desc.Digest)) {
		t.Error("FetchBlob must store the blob and extract nothing")
	}
	bad := &countingOpener{data: append(bytes.Clone(data), 1)}
	_, st2, _ := newResolver(t)
	if err := source.FetchBlob(context.Background(), st2, desc, bad.open); !errors.Is(err, store.ErrDigest) || st2.HasBlob(desc.Digest) {
		t.Errorf("corrupt fetch: %v (stored: %v)", err, st2.HasBlob(desc.Digest))
	}
}

// TestResolveIsLazy: Resolve reads the manifest and config only; FetchBlob
// pulls a layer's blob (then the image is named), and Unpack extracts it
// from the store without the registry.
func TestResolveIsLazy(t *testing.T) {
	var layerBytes atomic.Int64
	var layers sync.Map // digest → true
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i := strings.Index(r.URL.Path, "/blobs/"); i >= 0 && r.Method == http.MethodGet {
			if _, ok := layers.Load(r.URL.Path[i+len("/blobs/"):]); ok {
				w = &countingWriter{ResponseWriter: w, n: &layerBytes}
			}
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/lazy:1"
	img := platformImage(t, host.Architecture)
	m, _ := img.Manifest()
	for _, l := range m.Layers {
		layers.Store(l.Digest.String(), true)
	}
	tag, _ := name.ParseReference(ref)
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	r, st, sn := newResolver(t)
	ctx := context.Background()
	got, err := r.Resolve(ctx, ref, host)
	if err != nil {
		t.Fatal(err)
	}
	full, _ := store.Normalize(ref)
	if n := layerBytes.Load(); n != 0 {
		t.Errorf("Resolve pulled %d bytes of layers", n)
	}
	if _, err := st.Lookup(full); err == nil {
		t.Error("named before its layers are in the store")
	}
	l := got.Layers[0]
	if err := r.FetchBlob(ctx, l); err != nil {
		t.Fatal(err)
	}
	if n := layerBytes.Load(); n != l.Blob.Size || sn.Exists(snapshot.LayerID(l.DiffID)) {
		t.Errorf("FetchBlob pulled %d bytes (want %d), extracted: %v", n, l.Blob.Size, sn.Exists(snapshot.LayerID(l.DiffID)))
	}
	if _, err := st.Lookup(full); err != nil {
		t.Errorf("not named once its blobs are stored: %v", err)
	}
	dir, err := r.Unpack(ctx, l)
	if err != nil || dir != sn.Path(snapshot.LayerID(l.DiffID)) || !sn.Exists(snapshot.LayerID(l.DiffID)) {
		t.Errorf("Unpack: %q, %v", dir, err)
	}
	if n := layerBytes.Load(); n != l.Blob.Size {
		t.Errorf("Unpack pulled again: %d bytes in all", n)
	}
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n.Add(int64(n))
	return n, err
}
