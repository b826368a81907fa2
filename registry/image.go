package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/store"
)

// Image decorates a remote image so that its config and each layer's
// Compressed are fetched into st through Fetch (retried, digest verified,
// refetched when corrupt) and then read from st. Whoever copies a layer's
// stream into st under its digest finds the blob there already.
func Image(ctx context.Context, img v1.Image, st *store.Store, opts ...Option) v1.Image {
	return &image{Image: img, ctx: ctx, st: st, opts: opts}
}

type image struct {
	v1.Image
	ctx  context.Context
	st   *store.Store
	opts []Option
}

// RawConfigFile fetches the config blob into the store and reads it there.
func (i *image) RawConfigFile() ([]byte, error) {
	m, err := i.Image.Manifest()
	if err != nil {
		return nil, err
	}
	if m.Config.Data != nil {
		return i.Image.RawConfigFile()
	}
	l, err := i.Image.LayerByDigest(m.Config.Digest)
	if err != nil {
		return nil, err
	}
	if err := Fetch(i.ctx, i.st, m.Config, l.Compressed, i.opts...); err != nil {
		return nil, fmt.Errorf("fetching config %s: %w", m.Config.Digest, err)
	}
	return i.st.ReadBlob(m.Config.Digest)
}

// ConfigFile parses RawConfigFile.
func (i *image) ConfigFile() (*v1.ConfigFile, error) {
	raw, err := i.RawConfigFile()
	if err != nil {
		return nil, err
	}
	return v1.ParseConfigFile(bytes.NewReader(raw))
}

func (i *image) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	l, err := i.Image.LayerByDigest(h)
	if err != nil {
		return nil, err
	}
	return &layer{Layer: l, img: i}, nil
}

func (i *image) Layers() ([]v1.Layer, error) {
	ls, err := i.Image.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Layer, len(ls))
	for n, l := range ls {
		out[n] = &layer{Layer: l, img: i}
	}
	return out, nil
}

type layer struct {
	v1.Layer
	img *image
}

// Compressed fetches the blob into the store, then opens it there.
func (l *layer) Compressed() (io.ReadCloser, error) {
	d, err := l.Digest()
	if err != nil {
		return nil, err
	}
	size, err := l.Size()
	if err != nil {
		return nil, err
	}
	desc := v1.Descriptor{Digest: d, Size: size}
	if err := Fetch(l.img.ctx, l.img.st, desc, l.Layer.Compressed, l.img.opts...); err != nil {
		return nil, fmt.Errorf("fetching blob %s: %w", d, err)
	}
	return l.img.st.OpenBlob(d)
}
