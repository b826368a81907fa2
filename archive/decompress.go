package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	"github.com/ulikunitz/xz"
)

// Compression is a stream compression format recognised by its magic bytes.
type Compression int

// The compression formats Decompress recognises.
const (
	Uncompressed Compression = iota
	Gzip
	Zstd
	Bzip2
	Xz
)

func (c Compression) String() string {
	switch c {
	case Uncompressed:
		return "uncompressed"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	case Bzip2:
		return "bzip2"
	case Xz:
		return "xz"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

var (
	gzipMagic  = []byte{0x1f, 0x8b, 0x08}
	bzip2Magic = []byte{'B', 'Z', 'h'}
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// DetectCompression reports the format whose magic bytes start source.
// A zstd skippable frame counts as zstd.
func DetectCompression(source []byte) Compression {
	switch {
	case bytes.HasPrefix(source, gzipMagic):
		return Gzip
	case bytes.HasPrefix(source, zstdMagic):
		return Zstd
	case len(source) >= 4 && source[0]&0xf0 == 0x50 && bytes.Equal(source[1:4], []byte{0x2a, 0x4d, 0x18}):
		return Zstd // skippable frame, magic 0x184D2A5?
	case bytes.HasPrefix(source, bzip2Magic):
		return Bzip2
	case bytes.HasPrefix(source, xzMagic):
		return Xz
	}
	return Uncompressed
}

// Decompress sniffs the gzip, zstd, bzip2 and xz magic bytes at the start
// of r and returns the decompressed stream. An unrecognised stream is
// returned as is (through a buffer unless r is already a *bufio.Reader).
// Closing the result releases the decompressor, not r.
//
// A compressed stream that grows more than DefaultMaxRatio times (see
// WithMaxRatio) once past RatioFloor bytes, or past WithMaxSize, fails
// reading with a *LimitError: a decompression bomb stops early.
func Decompress(r io.Reader, opts ...DecompressOption) (io.ReadCloser, error) {
	rc, _, err := DecompressFormat(r, opts...)
	return rc, err
}

// DecompressFormat is Decompress that also reports the format it found.
func DecompressFormat(r io.Reader, opts ...DecompressOption) (io.ReadCloser, Compression, error) {
	o, err := makeDecompressOptions(opts)
	if err != nil {
		return nil, Uncompressed, err
	}
	in := &countingReader{r: r}
	br := bufio.NewReaderSize(in, 64<<10)
	if b, ok := r.(*bufio.Reader); ok {
		br, in = b, nil // the caller's buffer: no count, no ratio
	}
	magic, err := br.Peek(10)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, Uncompressed, fmt.Errorf("archive: detecting compression: %w", err)
	}
	c := DetectCompression(magic)
	rc, err := decompressor(br, c)
	if err != nil {
		return nil, c, fmt.Errorf("archive: opening %s stream: %w", c, err)
	}
	if c == Uncompressed {
		in = nil
	}
	return o.limit(rc, in), c, nil
}

func decompressor(r io.Reader, c Compression) (io.ReadCloser, error) {
	switch c {
	case Gzip:
		return pgzip.NewReader(r)
	case Zstd:
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case Bzip2:
		return io.NopCloser(bzip2.NewReader(r)), nil
	case Xz:
		x, err := xz.NewReader(r)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(x), nil
	}
	return io.NopCloser(r), nil
}

// IsArchive reports whether the file at path is a tar archive, possibly
// gzip, zstd, bzip2 or xz compressed, the way docker and BuildKit decide
// whether ADD extracts a local file: it must be a regular file (symlinks
// are not followed) whose decompressed stream starts with a valid tar
// header. Only failing to stat or open the file is an error.
func IsArchive(path string) (bool, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return false, fmt.Errorf("archive: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return false, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("archive: %w", err)
	}
	defer f.Close()
	rc, err := Decompress(f)
	if err != nil {
		return false, nil
	}
	defer rc.Close()
	_, err = tar.NewReader(rc).Next()
	return err == nil, nil
}
