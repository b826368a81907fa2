package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Image reads the image whose manifest is blob d, named or not.
func (s *Store) Image(d v1.Hash) (v1.Image, error) {
	raw, err := s.ReadBlob(d)
	if err != nil {
		return nil, err
	}
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("store: manifest %s: %w", d, err)
	}
	if m.MediaType.IsIndex() {
		return nil, fmt.Errorf("store: %s is an index, not an image", d)
	}
	return partial.CompressedToImage(&storeImage{s: s, raw: raw, m: &m})
}

type storeImage struct {
	s   *Store
	raw []byte
	m   *v1.Manifest
}

func (i *storeImage) RawManifest() ([]byte, error) { return i.raw, nil }

func (i *storeImage) MediaType() (types.MediaType, error) {
	if i.m.MediaType != "" {
		return i.m.MediaType, nil
	}
	return types.OCIManifestSchema1, nil
}

func (i *storeImage) RawConfigFile() ([]byte, error) { return i.s.ReadBlob(i.m.Config.Digest) }

func (i *storeImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	for _, l := range i.m.Layers {
		if l.Digest == h {
			return &storeBlob{s: i.s, desc: l}, nil
		}
	}
	if i.m.Config.Digest == h {
		return &storeBlob{s: i.s, desc: i.m.Config}, nil
	}
	return nil, fmt.Errorf("%w: layer %s", ErrNotFound, h)
}

type storeBlob struct {
	s    *Store
	desc v1.Descriptor
}

func (b *storeBlob) Digest() (v1.Hash, error)            { return b.desc.Digest, nil }
func (b *storeBlob) Size() (int64, error)                { return b.desc.Size, nil }
func (b *storeBlob) MediaType() (types.MediaType, error) { return b.desc.MediaType, nil }
func (b *storeBlob) Compressed() (io.ReadCloser, error)  { return b.s.OpenBlob(b.desc.Digest) }

// ImageIndex reads the index whose manifest is blob d, with the images
// (or indexes) it lists read from the store.
func (s *Store) ImageIndex(d v1.Hash) (v1.ImageIndex, error) {
	raw, err := s.ReadBlob(d)
	if err != nil {
		return nil, err
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("store: index %s: %w", d, err)
	}
	return &storeIndex{s: s, raw: raw, im: im}, nil
}

type storeIndex struct {
	s   *Store
	raw []byte
	im  *v1.IndexManifest
}

var _ v1.ImageIndex = (*storeIndex)(nil)

func (x *storeIndex) MediaType() (types.MediaType, error) {
	if x.im.MediaType != "" {
		return x.im.MediaType, nil
	}
	return types.OCIImageIndex, nil
}
func (x *storeIndex) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(x.raw))
	return h, err
}
func (x *storeIndex) Size() (int64, error)                      { return int64(len(x.raw)), nil }
func (x *storeIndex) IndexManifest() (*v1.IndexManifest, error) { return x.im, nil }
func (x *storeIndex) RawManifest() ([]byte, error)              { return x.raw, nil }
func (x *storeIndex) Image(h v1.Hash) (v1.Image, error)         { return x.s.Image(h) }
func (x *storeIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) {
	return x.s.ImageIndex(h)
}
