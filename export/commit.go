package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	goruntime "runtime"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/explain"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/store"
	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// Compression of new layers.
type Compression string

const (
	Gzip         Compression = "gzip"
	Zstd         Compression = "zstd"
	Uncompressed Compression = "uncompressed"
)

// ParseCompression checks a --compression value.
func ParseCompression(s string) (Compression, error) {
	switch c := Compression(s); c {
	case Gzip:
		return Gzip, nil
	case Zstd, Uncompressed:
		return c, nil
	}
	return "", fmt.Errorf("--compression=%s: want gzip, zstd or uncompressed", s)
}

// Commit writes img's new layers as blobs (in parallel), then its config and
// manifest, into st. It fills in each layer's DiffID and Blob and returns
// the manifest's descriptor. Layers that already have a blob are reused as
// they are.
func Commit(ctx context.Context, st *store.Store, img *image.Image, comp Compression) (v1.Descriptor, error) {
	return commit(ctx, st, img, comp, nil, nil)
}

// commit is Commit with annotations on the manifest and, with clamp, every
// layer a build step made written with mtimes clamped to it.
func commit(ctx context.Context, st *store.Store, img *image.Image, comp Compression, annotations map[string]string, clamp *time.Time) (v1.Descriptor, error) {
	layers := img.Layers
	if clamp != nil { // the result's layers keep their own blobs
		layers = slices.Clone(layers)
	}
	if err := ensureBlobs(ctx, st, layers, comp, clamp); err != nil {
		return v1.Descriptor{}, err
	}
	cfg := img.Config
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = nil
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, digestOf(l.DiffID))
	}
	cfg.History = fillCreated(cfg.History)
	for i := len(cfg.History) - 1; i >= 0; i-- {
		if cfg.History[i].Created != nil {
			cfg.Created = cfg.History[i].Created
			break
		}
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return v1.Descriptor{}, err
	}
	cd, err := st.WriteBlobBytes(raw)
	if err != nil {
		return v1.Descriptor{}, err
	}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1,
		Config:      v1.Descriptor{MediaType: types.OCIConfigJSON, Digest: cd, Size: int64(len(raw))},
		Annotations: annotations}
	for _, l := range layers {
		m.Layers = append(m.Layers, l.Blob)
	}
	mraw, err := json.Marshal(m)
	if err != nil {
		return v1.Descriptor{}, err
	}
	md, err := st.WriteBlobBytes(mraw)
	if err != nil {
		return v1.Descriptor{}, err
	}
	img.Digest = md
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: md, Size: int64(len(mraw))}, nil
}

// EnsureBlobs gives every layer a compressed blob in the store, tarring
// and compressing the ones that have none (or one of another compression)
// in parallel. A layer known only by its blob (no files here) keeps it.
func EnsureBlobs(ctx context.Context, st *store.Store, layers []image.Layer, comp Compression) error {
	return ensureBlobs(ctx, st, layers, comp, nil)
}

// ensureBlobs is EnsureBlobs with, when clamp is set, every layer a build
// step made written with its mtimes clamped (rewrite-timestamp). Those blobs
// are not the cache's; each is remembered in a "clamped" record (by step
// key, time and compression), so a rebuild from cache writes none again.
func ensureBlobs(ctx context.Context, st *store.Store, layers []image.Layer, comp Compression, clamp *time.Time) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(goruntime.NumCPU())
	for i := range layers {
		l := &layers[i]
		if clamp != nil && l.Key != "" && l.Dir != "" {
			g.Go(func() error { return clampedBlob(gctx, st, l, comp, *clamp) })
			continue
		}
		if l.Blob.Digest != (v1.Hash{}) && (l.Key == "" || l.Dir == "" || mediaMatches(l.Blob.MediaType, comp)) {
			l.Blob.MediaType = ociMediaType(l.Blob.MediaType)
			continue
		}
		g.Go(func() error { return writeLayerBlob(gctx, st, l, comp) })
	}
	return g.Wait()
}

// clampedLayer is a "clamped" record: the blob of a step's layer written
// with clamped mtimes.
type clampedLayer struct {
	DiffID v1.Hash       `json:"diffID"`
	Blob   v1.Descriptor `json:"blob"`
}

// clampedBlob gives l the blob of its files with mtimes clamped to t, from
// the record of an earlier export or written now.
func clampedBlob(ctx context.Context, st *store.Store, l *image.Layer, comp Compression, t time.Time) error {
	sum := sha256.Sum256(fmt.Appendf(nil, "clamped\x00%s\x00%d\x00%s", l.Key, t.Unix(), comp))
	rk := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	if raw, err := st.Record("clamped", rk); err == nil {
		var c clampedLayer
		if json.Unmarshal(raw, &c) == nil && st.HasBlob(c.Blob.Digest) {
			l.DiffID, l.Blob = c.DiffID, c.Blob
			return nil
		}
	}
	if err := writeLayerBlob(ctx, st, l, comp, archive.WithMtimeClamp(t)); err != nil {
		return err
	}
	raw, err := json.Marshal(clampedLayer{DiffID: l.DiffID, Blob: l.Blob})
	if err != nil {
		return err
	}
	return st.PutRecord("clamped", rk, raw)
}

// writeLayerBlob tars l.Dir, computing the diff ID on the way, compresses it
// and stores the blob.
func writeLayerBlob(ctx context.Context, st *store.Store, l *image.Layer, comp Compression, opts ...archive.WriteOption) error {
	bw, err := st.NewBlobWriter()
	if err != nil {
		return err
	}
	zw, mt, err := compressor(bw, comp)
	if err != nil {
		bw.Abort()
		return err
	}
	diff := sha256.New()
	scan := explain.NewLayerScanner(ctx) // for the leak check and explain, instead of reading the blob back
	if err := archive.WriteLayer(ctx, io.MultiWriter(zw, diff, scan), l.Dir, opts...); err != nil {
		scan.Abort()
		bw.Abort()
		return fmt.Errorf("exporting layer: %w", err)
	}
	if err := zw.Close(); err != nil {
		scan.Abort()
		bw.Abort()
		return err
	}
	d, size, err := bw.Commit(v1.Hash{})
	if err != nil {
		scan.Abort()
		return err
	}
	scan.Keep(st, d)
	l.DiffID = hashOf(diff)
	l.Blob = v1.Descriptor{MediaType: mt, Digest: d, Size: size}
	return nil
}

// mediaMatches reports whether a cached blob of type mt has the wanted
// compression.
func mediaMatches(mt types.MediaType, comp Compression) bool {
	_, want, _ := compressor(io.Discard, comp)
	return ociMediaType(mt) == want
}

// fillCreated gives config-only history entries (Created nil) a time, as
// BuildKit's exporter does: the previous entry's, or for leading ones the
// first time that follows. A rebuild from cache so gets the same config.
func fillCreated(h []ocispec.History) []ocispec.History {
	out := append([]ocispec.History(nil), h...)
	var last *time.Time
	for i := range out {
		if out[i].Created != nil {
			last = out[i].Created
			continue
		}
		if last == nil {
			for j := i + 1; j < len(out); j++ {
				if out[j].Created != nil {
					last = out[j].Created
					break
				}
			}
		}
		out[i].Created = last
	}
	return out
}

func compressor(w io.Writer, comp Compression) (io.WriteCloser, types.MediaType, error) {
	switch comp {
	case Zstd:
		zw, err := zstd.NewWriter(w)
		return zw, types.OCILayerZStd, err
	case Uncompressed:
		return nopCloser{w}, types.OCIUncompressedLayer, nil
	default:
		return pgzip.NewWriter(w), types.OCILayer, nil
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// ociMediaType maps docker layer media types to their OCI equivalents, so a
// base image's blobs fit in an OCI manifest unchanged.
func ociMediaType(mt types.MediaType) types.MediaType {
	switch mt {
	case types.DockerLayer:
		return types.OCILayer
	case types.DockerUncompressedLayer:
		return types.OCIUncompressedLayer
	}
	return mt
}

func hashOf(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

func digestOf(h v1.Hash) digest.Digest { return digest.Digest(h.String()) }
