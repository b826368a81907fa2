package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestApplyLimits: a layer past its entry or byte limit is refused with a
// *LimitError naming the limit and how to raise it; the environment
// changes the defaults, "0" lifts them.
func TestApplyLimits(t *testing.T) {
	many := make([]entry, 0, 21)
	for i := 0; i < 21; i++ {
		many = append(many, entry{name: fmt.Sprintf("f%d", i), typ: tar.TypeReg, body: "x"})
	}
	big := []entry{{name: "a", typ: tar.TypeReg, body: strings.Repeat("a", 600)},
		{name: "b", typ: tar.TypeReg, body: strings.Repeat("b", 600)}}
	for _, tt := range []struct {
		name   string
		layer  []entry
		env    map[string]string
		opts   []ApplyOption
		refuse string // the environment variable the error names; "" = applies
	}{
		{name: "EntriesOption", layer: many, opts: []ApplyOption{WithMaxEntries(20)}, refuse: EnvMaxEntries},
		{name: "EntriesAtLimit", layer: many, opts: []ApplyOption{WithMaxEntries(21)}},
		{name: "EntriesEnv", layer: many, env: map[string]string{EnvMaxEntries: "10"}, refuse: EnvMaxEntries},
		{name: "EntriesEnvZeroLifts", layer: many, env: map[string]string{EnvMaxEntries: "0"}},
		{name: "OptionOverridesEnv", layer: many, env: map[string]string{EnvMaxEntries: "10"}, opts: []ApplyOption{WithMaxEntries(0)}},
		{name: "BytesOption", layer: big, opts: []ApplyOption{WithMaxBytes(1000)}, refuse: EnvMaxBytes},
		{name: "BytesAtLimit", layer: big, opts: []ApplyOption{WithMaxBytes(1200)}},
		{name: "BytesEnvUnits", layer: big, env: map[string]string{EnvMaxBytes: "1k"}, refuse: EnvMaxBytes},
		{name: "Defaults", layer: many},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Apply(context.Background(), t.TempDir(), bytes.NewReader(buildTar(t, tt.layer...)),
				append(tt.opts, WithNoSameOwner())...)
			if tt.refuse == "" {
				must(t, err)
				return
			}
			var le *LimitError
			if !errors.Is(err, ErrLimit) || !errors.As(err, &le) {
				t.Fatalf("err = %v, want a *LimitError", err)
			}
			if !strings.Contains(err.Error(), tt.refuse) {
				t.Errorf("error %q does not say how to raise the limit (%s)", err, tt.refuse)
			}
		})
	}
	t.Run("BadEnv", func(t *testing.T) {
		t.Setenv(EnvMaxEntries, "lots")
		_, err := Apply(context.Background(), t.TempDir(), bytes.NewReader(buildTar(t, many...)))
		if err == nil || !strings.Contains(err.Error(), EnvMaxEntries) {
			t.Errorf("err = %v, want one naming %s", err, EnvMaxEntries)
		}
	})
}

// TestDecompressRatio: zeros that inflate past the ratio once over the
// floor are refused; incompressible data and small streams pass.
func TestDecompressRatio(t *testing.T) {
	zeros := make([]byte, 8<<20)
	random := make([]byte, 4<<20)
	rand.Read(random)
	for _, tt := range []struct {
		name   string
		data   []byte
		c      Compression
		env    string
		opts   []DecompressOption
		refuse bool
	}{
		{name: "GzipZeros", data: zeros, c: Gzip, opts: []DecompressOption{withRatioFloor(1 << 20)}, refuse: true},
		{name: "ZstdZeros", data: zeros, c: Zstd, opts: []DecompressOption{withRatioFloor(1 << 20)}, refuse: true},
		{name: "XzZeros", data: zeros, c: Xz, opts: []DecompressOption{withRatioFloor(1 << 20)}, refuse: true},
		{name: "ZerosUnderFloor", data: zeros, c: Gzip},
		{name: "RatioOff", data: zeros, c: Zstd, opts: []DecompressOption{withRatioFloor(1 << 20), WithMaxRatio(0)}},
		{name: "RatioEnvRaised", data: zeros, c: Gzip, env: "100000", opts: []DecompressOption{withRatioFloor(1 << 20)}},
		{name: "Random", data: random, c: Gzip, opts: []DecompressOption{withRatioFloor(1 << 20)}},
		{name: "Uncompressed", data: zeros, c: Uncompressed, opts: []DecompressOption{withRatioFloor(1 << 20)}},
		{name: "MaxSize", data: random, c: Zstd, opts: []DecompressOption{WithMaxSize(1 << 20)}, refuse: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.env != "" {
				t.Setenv(EnvMaxRatio, tt.env)
			}
			rc, err := Decompress(bytes.NewReader(compressWith(t, tt.c, tt.data)), tt.opts...)
			must(t, err)
			defer rc.Close()
			n, err := io.Copy(io.Discard, rc)
			if !tt.refuse {
				if err != nil || n != int64(len(tt.data)) {
					t.Fatalf("read %d of %d bytes: %v", n, len(tt.data), err)
				}
				return
			}
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("read %d bytes, err = %v, want ErrLimit", n, err)
			}
			if n >= int64(len(tt.data)) {
				t.Errorf("the whole stream was read (%d bytes) before the limit", n)
			}
		})
	}
}
