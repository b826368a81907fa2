package export

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/store"
)

// StoreImage copies a v1.Image (from a tarball, a layout or a registry) into
// the store and returns its manifest descriptor. Blobs already present are
// not copied again.
func StoreImage(st *store.Store, img v1.Image) (v1.Descriptor, error) {
	layers, err := img.Layers()
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return v1.Descriptor{}, err
		}
		if st.HasBlob(d) {
			continue
		}
		rc, err := l.Compressed()
		if err != nil {
			return v1.Descriptor{}, err
		}
		_, _, err = st.WriteBlob(rc, d)
		rc.Close()
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("layer %s: %w", d, err)
		}
	}
	cfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, err
	}
	if _, err := st.WriteBlobBytes(cfg); err != nil {
		return v1.Descriptor{}, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	md, err := st.WriteBlobBytes(raw)
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: md, Size: int64(len(raw))}, nil
}

// KeepSnapshots moves the directories of img's exported layers into the
// store's snapshots, keyed by diff ID, so later builds on this image do not
// extract them again. Layer dirs already in the store are left alone.
func KeepSnapshots(st *store.Store, img *image.Image) error {
	for i := range img.Layers {
		l := &img.Layers[i]
		if l.DiffID == (v1.Hash{}) || l.Dir == "" {
			continue
		}
		id := l.DiffID.Hex
		if l.Dir == st.SnapshotPath(id) {
			continue
		}
		if err := st.CommitSnapshot(l.Dir, id); err != nil {
			return err
		}
		l.Dir = st.SnapshotPath(id)
	}
	return nil
}
