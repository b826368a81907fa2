package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/store"
)

// Opener opens a blob's content from its start, each call a new transfer
// (a v1.Layer's Compressed, say).
type Opener func() (io.ReadCloser, error)

// Open returns a reader of the blob desc that survives transfers cut
// short: after a Retryable error it waits the backoff, opens the blob
// again and skips what it already returned. When the content ends, its
// size and digest are checked against desc: a mismatch fails with an
// error matching store.ErrDigest (the bytes already returned were corrupt;
// Fetch refetches). It stops with ctx's error when ctx ends.
func Open(ctx context.Context, desc v1.Descriptor, open Opener, opts ...Option) io.ReadCloser {
	return &blobReader{ctx: ctx, desc: desc, open: open, b: makeOptions(opts).backoff, h: sha256.New()}
}

type blobReader struct {
	ctx   context.Context
	desc  v1.Descriptor
	open  Opener
	b     Backoff
	rc    io.ReadCloser
	off   int64 // bytes returned so far
	h     hash.Hash
	fails int
	err   error // sticky
}

func (r *blobReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		if err := r.ctx.Err(); err != nil {
			r.err = err
			return 0, err
		}
		if r.rc == nil {
			if err := r.reopen(); err != nil {
				if r.retry(err) {
					continue
				}
				r.err = err
				return 0, err
			}
		}
		n, err := r.rc.Read(p)
		r.h.Write(p[:n])
		r.off += int64(n)
		switch {
		case err == nil:
			return n, nil
		case errors.Is(err, io.EOF) || (r.desc.Size > 0 && r.off == r.desc.Size):
			// the end, or the whole size arrived and go-containerregistry
			// refused its digest: check it and say so in kiln's terms
			if r.err = r.verify(); r.err == nil {
				r.err = io.EOF
			}
			return n, r.err
		}
		r.rc.Close()
		r.rc = nil
		if !r.retry(err) {
			r.err = err
			return n, err
		}
		if n > 0 {
			return n, nil
		}
	}
}

// reopen opens the blob again and skips the bytes already returned.
func (r *blobReader) reopen() error {
	rc, err := r.open()
	if err != nil {
		return err
	}
	if r.off > 0 {
		if _, err := io.CopyN(io.Discard, rc, r.off); err != nil {
			rc.Close()
			return fmt.Errorf("skipping %d bytes already read: %w", r.off, err)
		}
	}
	r.rc = rc
	return nil
}

// retry reports whether to try again after err, having waited.
func (r *blobReader) retry(err error) bool {
	r.fails++
	if !Retryable(err) || errors.Is(err, store.ErrDigest) || r.fails >= r.b.Attempts {
		return false
	}
	return sleep(r.ctx, r.b.wait(r.fails-1)) == nil
}

// verify checks what was read against desc.
func (r *blobReader) verify() error {
	got := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(r.h.Sum(nil))}
	switch {
	case r.desc.Size > 0 && r.off != r.desc.Size:
		return fmt.Errorf("%w: blob %s: %d bytes, want %d", store.ErrDigest, r.desc.Digest, r.off, r.desc.Size)
	case r.desc.Digest.Algorithm == "sha256" && got != r.desc.Digest:
		return fmt.Errorf("%w: blob %s arrived as %s", store.ErrDigest, r.desc.Digest, got)
	}
	return nil
}

func (r *blobReader) Close() error {
	if r.rc == nil {
		return nil
	}
	err := r.rc.Close()
	r.rc = nil
	return err
}

// Fetch copies the blob desc into st unless st has it, reading it through
// Open; a blob that arrives corrupt is fetched again (it may have been
// corrupted in transit), up to the backoff's attempts. A blob that never
// matches its digest fails with an error matching store.ErrDigest, and
// nothing of it is stored.
func Fetch(ctx context.Context, st *store.Store, desc v1.Descriptor, open Opener, opts ...Option) error {
	if st.HasBlob(desc.Digest) {
		return nil
	}
	// Open retries cut transfers itself: here only corrupt ones
	corrupt := func(err error) bool { return errors.Is(err, store.ErrDigest) }
	return retry(ctx, func() error {
		rc := Open(ctx, desc, open, opts...)
		defer rc.Close()
		_, _, err := st.WriteBlob(rc, desc.Digest)
		return err
	}, corrupt, makeOptions(opts).backoff)
}
