package explain

import (
	"context"
	"encoding/json"
	"io"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/store"
)

// LayerScanner scans an uncompressed layer tar while it is being written:
// the exporter tees every layer it packs into one, and keeps the scan
// beside the blob, so the leak check after a build (and `kiln explain`)
// need not read the blob back and decompress it. The scan runs behind the
// writer on copies of what it wrote (at most scanQueue chunks queued); a
// failed scan is dropped, it never fails the write.
type LayerScanner struct {
	buf    []byte
	chunks chan []byte
	done   chan struct{}
	scan   *layerScan
	err    error
}

const (
	scanChunk = 256 << 10
	scanQueue = 32
)

var scanChunks = sync.Pool{New: func() any { return make([]byte, 0, scanChunk) }}

// NewLayerScanner starts a scan; Keep or Abort ends it.
func NewLayerScanner(ctx context.Context) *LayerScanner {
	s := &LayerScanner{chunks: make(chan []byte, scanQueue), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		r := &chunkReader{chunks: s.chunks}
		s.scan, s.err = scanTar(ctx, r)
		for range s.chunks { // (after a failure: drain what comes)
		}
	}()
	return s
}

// Write feeds the next bytes of the tar; it never fails.
func (s *LayerScanner) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if s.buf == nil {
			s.buf = scanChunks.Get().([]byte)[:0]
		}
		k := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf, p = s.buf[:len(s.buf)+k], p[k:]
		if len(s.buf) == cap(s.buf) {
			s.chunks <- s.buf
			s.buf = nil
		}
	}
	return n, nil
}

// Keep ends the scan of a complete tar and keeps it as the scan of the
// layer whose blob is blob (best effort, as after a read of the blob).
func (s *LayerScanner) Keep(st *store.Store, blob v1.Hash) {
	if len(s.buf) > 0 {
		s.chunks <- s.buf
	}
	close(s.chunks)
	<-s.done
	if s.err != nil {
		return
	}
	if b, err := json.Marshal(s.scan); err == nil {
		_ = st.PutRecord(cacheKind, blob, b)
	}
}

// Abort ends the scan without keeping it.
func (s *LayerScanner) Abort() {
	close(s.chunks)
	<-s.done
}

// chunkReader reads the queued chunks in order.
type chunkReader struct {
	chunks <-chan []byte
	cur    []byte
	held   []byte // the chunk cur is part of, back to the pool once read
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.held != nil {
			scanChunks.Put(r.held[:0]) //nolint:staticcheck // a slice header: the pool keeps the array
			r.held = nil
		}
		c, ok := <-r.chunks
		if !ok {
			return 0, io.EOF
		}
		r.cur, r.held = c, c
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
