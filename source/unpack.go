package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/registry"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/store"
)

// Opener opens a blob's compressed content from its start; each call is a
// new transfer (a v1.Layer's Compressed, say).
type Opener = registry.Opener

// UnpackJobs bounds how many layers are fetched and extracted at once.
// Each is a pipeline of its own (transfer, store write, decompression,
// file writes) that keeps about one CPU busy.
var UnpackJobs = max(3, runtime.NumCPU()+1)

// UnpackBlob makes the layer blob desc local as the snapshot id (files in
// overlay format) and, when the store lacks it, as a blob in the store,
// from one pass over its bytes: open → store → decompress → extract, with
// no temp copy of the blob besides the one kept. The bytes are checked
// against desc (size and digest) before the snapshot is committed, so a
// blob that arrives corrupt leaves neither (an error matching
// store.ErrDigest, after corruptAttempts transfers). When the store has
// the blob it is read from there and open is not called. A snapshot that
// exists already is kept.
func UnpackBlob(ctx context.Context, st *store.Store, sn snapshot.Snapshotter, desc v1.Descriptor, id string, open Opener) error {
	var err error
	for i := 0; i < corruptAttempts; i++ {
		if err = unpackBlob(ctx, st, sn, desc, id, open); !errors.Is(err, store.ErrDigest) || ctx.Err() != nil {
			break
		}
		// corrupt in transit, maybe: fetched again, as registry.Fetch does
	}
	return err
}

// corruptAttempts is how often UnpackBlob fetches a blob that arrives
// corrupt.
const corruptAttempts = 3

func unpackBlob(ctx context.Context, st *store.Store, sn snapshot.Snapshotter, desc v1.Descriptor, id string, open Opener) error {
	if sn.Exists(id) {
		sn.Touch(id)
		return nil
	}
	bs, err := openBlobStream(ctx, st, desc, open)
	if err != nil {
		return fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	defer bs.close()
	plain, err := archive.Decompress(bs)
	if err != nil {
		bs.abort()
		return fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	err = sn.Extract(ctx, id, &checkAtEnd{r: plain, blob: bs})
	plain.Close() // (the decompressor reads bs no more)
	if err != nil {
		err = bs.blame(err)
		bs.abort()
		return fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	if err := bs.commit(); err != nil {
		return fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	return nil
}

// FetchBlob copies the blob desc into st, unless st has it, checking its
// size and digest.
func FetchBlob(ctx context.Context, st *store.Store, desc v1.Descriptor, open Opener) error {
	if st.HasBlob(desc.Digest) {
		return nil
	}
	bs, err := openBlobStream(ctx, st, desc, open)
	if err != nil {
		return fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	defer bs.close()
	if _, err := io.Copy(io.Discard, bs); err != nil {
		bs.abort()
		return fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	if err := bs.commit(); err != nil {
		return fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	return nil
}

// blobStream reads a blob's compressed bytes once: from the store when it
// has them, else from the opener, each byte written into a new store blob
// on its way, and checked against the descriptor when the bytes end.
type blobStream struct {
	ctx  context.Context
	desc v1.Descriptor
	src  io.ReadCloser
	w    *store.BlobWriter // nil: read from the store, nothing to keep or check
	n    int64
	err  error // sticky
}

func openBlobStream(ctx context.Context, st *store.Store, desc v1.Descriptor, open Opener) (*blobStream, error) {
	if f, err := st.OpenBlob(desc.Digest); err == nil {
		return &blobStream{ctx: ctx, desc: desc, src: f}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if open == nil {
		return nil, fmt.Errorf("%w: not in the store, and no registry or layout to fetch it from", store.ErrNotFound)
	}
	w, err := st.NewBlobWriter()
	if err != nil {
		return nil, err
	}
	src, err := open()
	if err != nil {
		w.Abort()
		return nil, err
	}
	return &blobStream{ctx: ctx, desc: desc, src: src, w: w}, nil
}

func (b *blobStream) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if err := b.ctx.Err(); err != nil {
		b.err = err
		return 0, err
	}
	n, err := b.src.Read(p)
	if n > 0 && b.w != nil {
		if _, werr := b.w.Write(p[:n]); werr != nil {
			b.err = fmt.Errorf("storing the blob: %w", werr)
			return 0, b.err
		}
	}
	b.n += int64(n)
	if b.w != nil && b.desc.Size > 0 && b.n > b.desc.Size {
		b.err = fmt.Errorf("%w: %s is longer than its %d bytes", store.ErrDigest, b.desc.Digest, b.desc.Size)
		return 0, b.err
	}
	if errors.Is(err, io.EOF) {
		if verr := b.verify(); verr != nil {
			b.err = verr
			return n, verr
		}
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// verify checks a fetched blob, once it has ended, against its descriptor.
func (b *blobStream) verify() error {
	if b.w == nil {
		return nil
	}
	got, size := b.w.Digest()
	switch {
	case b.desc.Size > 0 && size != b.desc.Size:
		return fmt.Errorf("%w: %s arrived with %d bytes, want %d", store.ErrDigest, b.desc.Digest, size, b.desc.Size)
	case got != b.desc.Digest:
		return fmt.Errorf("%w: %s arrived as %s", store.ErrDigest, b.desc.Digest, got)
	}
	return nil
}

// blame is the error to report when extracting a fetched blob failed with
// err: bytes corrupted in transit make the decompressor or the tar reader
// fail before the digest is checked, so the rest of the blob is read and
// checked, and a digest mismatch (worth fetching again) is reported
// rather than what it caused.
func (b *blobStream) blame(err error) error {
	if b.w == nil || b.ctx.Err() != nil {
		return err
	}
	derr := b.err // the decompressor may have read it all already
	if derr == nil {
		_, derr = io.Copy(io.Discard, b)
	}
	if errors.Is(derr, store.ErrDigest) {
		return fmt.Errorf("%w (extracting it: %v)", derr, err)
	}
	return err
}

// commit keeps the fetched blob in the store (after a complete, verified read).
func (b *blobStream) commit() error {
	if b.w == nil {
		return nil
	}
	w := b.w
	b.w = nil
	_, _, err := w.Commit(b.desc.Digest)
	return err
}

// abort drops a fetched blob.
func (b *blobStream) abort() {
	if b.w != nil {
		b.w.Abort()
		b.w = nil
	}
}

func (b *blobStream) close() {
	b.abort()
	b.src.Close()
}

// checkAtEnd is the decompressed stream of a blobStream: when it ends, the
// rest of the compressed bytes are read and checked, so the reader (Apply)
// sees a corrupt blob as an error before it reports success, and the
// snapshot is not committed.
type checkAtEnd struct {
	r    io.Reader
	blob *blobStream
}

func (c *checkAtEnd) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if errors.Is(err, io.EOF) {
		if _, derr := io.Copy(io.Discard, c.blob); derr != nil {
			return n, derr
		}
	}
	return n, err
}
