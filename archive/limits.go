package archive

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/docker/go-units"
)

// Default limits of one layer, far above real images: Debian 12's minbase
// layer has 6,670 entries and 116 MB of file content (2.5 times its gzip
// size), a Go toolchain layer 16,709 entries and 233 MB (3.7 times).
const (
	// DefaultMaxEntries is how many tar entries Apply extracts from one
	// layer; KILN_MAX_LAYER_ENTRIES changes it.
	DefaultMaxEntries = 2_000_000

	// DefaultMaxBytes is how many bytes of file content Apply writes from
	// one layer; KILN_MAX_LAYER_BYTES changes it (a number of bytes or a
	// size such as 200GB).
	DefaultMaxBytes = 64 << 30

	// DefaultMaxRatio is how many times its compressed size a stream read
	// through Decompress may grow, once it has produced RatioFloor bytes;
	// KILN_MAX_DECOMPRESSION_RATIO changes it.
	DefaultMaxRatio = 100

	// RatioFloor is the output below which Decompress does not check the
	// ratio: a small layer of zeros is no bomb.
	RatioFloor = 1 << 30
)

// The environment variables that change the default limits ("0" lifts a
// limit).
const (
	EnvMaxEntries = "KILN_MAX_LAYER_ENTRIES"
	EnvMaxBytes   = "KILN_MAX_LAYER_BYTES"
	EnvMaxRatio   = "KILN_MAX_DECOMPRESSION_RATIO"
)

// ErrLimit is matched (errors.Is) by every *LimitError.
var ErrLimit = errors.New("archive: layer limit exceeded")

// LimitError reports a layer or stream that went past one of the limits
// guarding against tar and decompression bombs.
type LimitError struct {
	What  string // "entries", "bytes of file content", "decompression ratio"
	Limit int64
	Env   string // the environment variable that raises it, if any
	Opt   string // the option that sets it
}

func (e *LimitError) Error() string {
	how := "with " + e.Opt
	if e.Env != "" {
		how = fmt.Sprintf("with %s=N in the environment (0: no limit) or %s", e.Env, e.Opt)
	}
	return fmt.Sprintf("archive: layer exceeds the limit of %d %s (a tar or decompression bomb?); raise it %s",
		e.Limit, e.What, how)
}

// Is makes errors.Is(err, ErrLimit) true.
func (e *LimitError) Is(target error) bool { return target == ErrLimit }

// envLimit reads a limit from the environment: def when unset, 0 for "no
// limit". Sizes take units (KILN_MAX_LAYER_BYTES=200GB).
func envLimit(name string, def int64, size bool) (int64, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	var n int64
	var err error
	if size {
		n, err = units.RAMInBytes(v)
	} else {
		n, err = strconv.ParseInt(v, 10, 64)
	}
	if err != nil || n < 0 {
		return 0, fmt.Errorf("archive: %s=%q: want a non-negative number", name, v)
	}
	return n, nil
}

// DecompressOption changes the limits of Decompress.
type DecompressOption func(*decompressOptions)

type decompressOptions struct {
	maxRatio *int64 // nil: KILN_MAX_DECOMPRESSION_RATIO or DefaultMaxRatio
	maxSize  int64  // 0: no limit
	floor    int64  // RatioFloor, smaller in tests
}

// withRatioFloor is the test seam for RatioFloor.
func withRatioFloor(n int64) DecompressOption {
	return func(o *decompressOptions) { o.floor = n }
}

// WithMaxRatio makes a compressed stream fail once its output passes
// RatioFloor and is more than n times the compressed bytes read (0: no
// limit). Without it the limit is $KILN_MAX_DECOMPRESSION_RATIO, or
// DefaultMaxRatio.
func WithMaxRatio(n int64) DecompressOption {
	return func(o *decompressOptions) { o.maxRatio = &n }
}

// WithMaxSize makes the decompressed stream fail past n bytes (default:
// no limit; Apply limits what a layer writes).
func WithMaxSize(n int64) DecompressOption {
	return func(o *decompressOptions) { o.maxSize = n }
}

func makeDecompressOptions(opts []DecompressOption) (decompressOptions, error) {
	o := decompressOptions{floor: RatioFloor}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.maxRatio == nil {
		n, err := envLimit(EnvMaxRatio, DefaultMaxRatio, false)
		if err != nil {
			return o, err
		}
		o.maxRatio = &n
	}
	if *o.maxRatio < 0 || o.maxSize < 0 {
		return o, errors.New("archive: negative decompression limit")
	}
	return o, nil
}

// limit wraps rc with the checks: in counts the compressed bytes (nil: no
// ratio check).
func (o decompressOptions) limit(rc io.ReadCloser, in *countingReader) io.ReadCloser {
	ratio := *o.maxRatio
	if in == nil {
		ratio = 0
	}
	if ratio == 0 && o.maxSize == 0 {
		return rc
	}
	return &limitedReader{rc: rc, in: in, ratio: ratio, max: o.maxSize, floor: o.floor}
}

// countingReader counts the compressed bytes read; pgzip and zstd read
// ahead in goroutines of their own, hence the atomic.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type limitedReader struct {
	rc    io.ReadCloser
	in    *countingReader
	ratio int64
	max   int64
	floor int64
	out   int64
	err   error
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.rc.Read(p)
	l.out += int64(n)
	switch {
	case l.max > 0 && l.out > l.max:
		l.err = &LimitError{What: "decompressed bytes", Limit: l.max, Opt: "archive.WithMaxSize"}
	case l.ratio > 0 && l.out > l.floor && l.out > l.ratio*l.in.n.Load():
		l.err = &LimitError{What: "times the compressed size (decompression ratio)", Limit: l.ratio, Env: EnvMaxRatio, Opt: "archive.WithMaxRatio"}
	}
	if l.err != nil {
		return 0, l.err
	}
	return n, err
}

func (l *limitedReader) Close() error { return l.rc.Close() }
