package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrDigest is returned when content does not hash to the digest it was
// stored or fetched under: the blob is corrupt, and it is not stored.
var ErrDigest = errors.New("store: blob digest mismatch")

// BlobPath is where the blob with digest d lives (whether or not it exists).
func (s *Store) BlobPath(d v1.Hash) string {
	return filepath.Join(s.root, "blobs", d.Algorithm, d.Hex)
}

// HasBlob reports whether the blob d is in the store.
func (s *Store) HasBlob(d v1.Hash) bool {
	_, err := os.Stat(s.BlobPath(d))
	return err == nil
}

// OpenBlob opens the blob d for reading.
func (s *Store) OpenBlob(d v1.Hash) (*os.File, error) {
	f, err := os.Open(s.BlobPath(d))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: blob %s", ErrNotFound, d)
	}
	return f, err
}

// BlobWriter writes a blob through a temp file; Commit moves it into place
// under its sha256 digest. Writeback of what is written starts as it
// goes, so the fsync of Commit waits only for the last few megabytes.
type BlobWriter struct {
	s       *Store
	f       *os.File
	h       hash.Hash
	size    int64
	flushed int64 // bytes handed to writeback so far
}

// writebackChunk is how much a BlobWriter buffers before it starts the
// writeback of it.
const writebackChunk = 8 << 20

// NewBlobWriter starts a new blob.
func (s *Store) NewBlobWriter() (*BlobWriter, error) {
	f, err := os.CreateTemp(s.tmp, "blob-")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &BlobWriter{s: s, f: f, h: sha256.New()}, nil
}

func (w *BlobWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	w.size += int64(n)
	if w.size-w.flushed >= writebackChunk {
		startWriteback(w.f, w.flushed, w.size-w.flushed)
		w.flushed = w.size
	}
	return n, err
}

// Digest is the digest of what was written so far, and its size.
func (w *BlobWriter) Digest() (v1.Hash, int64) {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}, w.size
}

// Commit finishes the blob and returns its digest and size. If want is not
// the zero hash, the content must match it.
func (w *BlobWriter) Commit(want v1.Hash) (v1.Hash, int64, error) {
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.h.Sum(nil))}
	defer os.Remove(w.f.Name())
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return d, 0, err
	}
	if err := w.f.Close(); err != nil {
		return d, 0, err
	}
	if want != (v1.Hash{}) && want != d {
		return d, 0, fmt.Errorf("%w: got %s, want %s", ErrDigest, d, want)
	}
	if err := os.Chmod(w.f.Name(), 0o644); err != nil {
		return d, 0, err
	}
	if err := os.Rename(w.f.Name(), w.s.BlobPath(d)); err != nil {
		return d, 0, fmt.Errorf("store: %w", err)
	}
	return d, w.size, nil
}

// Abort drops the blob.
func (w *BlobWriter) Abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// WriteBlob stores the content of r and returns its digest and size.
func (s *Store) WriteBlob(r io.Reader, want v1.Hash) (v1.Hash, int64, error) {
	if want != (v1.Hash{}) && s.HasBlob(want) {
		n, err := io.Copy(io.Discard, r)
		return want, n, err
	}
	w, err := s.NewBlobWriter()
	if err != nil {
		return v1.Hash{}, 0, err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Abort()
		return v1.Hash{}, 0, fmt.Errorf("store: writing blob: %w", err)
	}
	return w.Commit(want)
}

// WriteBlobBytes stores b.
func (s *Store) WriteBlobBytes(b []byte) (v1.Hash, error) {
	sum := sha256.Sum256(b)
	d := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	if s.HasBlob(d) {
		return d, nil
	}
	if err := WriteFileAtomic(s.BlobPath(d), b, 0o644); err != nil {
		return d, fmt.Errorf("store: %w", err)
	}
	return d, nil
}

// ReadBlob returns the whole content of blob d.
func (s *Store) ReadBlob(d v1.Hash) ([]byte, error) {
	b, err := os.ReadFile(s.BlobPath(d))
	if os.IsNotExist(err) {
		return nil, fmt.Errorf("%w: blob %s", ErrNotFound, d)
	}
	return b, err
}
