package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sys/unix"
)

// RefNameAnnotation holds an image's name in index.json, as in OCI layouts.
const RefNameAnnotation = "org.opencontainers.image.ref.name"

// Image is one named image in the store.
type Image struct {
	Name       string
	Descriptor v1.Descriptor
}

func (s *Store) indexPath() string { return filepath.Join(s.root, "index.json") }

// withIndexLock runs fn holding the exclusive index lock (across processes).
func (s *Store) withIndexLock(fn func() error) error {
	f, err := os.OpenFile(filepath.Join(s.root, "index.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("store: locking index: %w", err)
	}
	defer unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return fn()
}

func (s *Store) readIndex() (*v1.IndexManifest, error) {
	b, err := os.ReadFile(s.indexPath())
	if os.IsNotExist(err) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("store: corrupt index.json: %w", err)
	}
	return &idx, nil
}

func (s *Store) writeIndex(idx *v1.IndexManifest) error {
	sort.Slice(idx.Manifests, func(i, j int) bool {
		return idx.Manifests[i].Annotations[RefNameAnnotation] < idx.Manifests[j].Annotations[RefNameAnnotation]
	})
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(s.indexPath(), b, 0o644)
}

// Images lists the named images, sorted by name.
func (s *Store) Images() ([]Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	var out []Image
	for _, d := range idx.Manifests {
		if n := d.Annotations[RefNameAnnotation]; n != "" {
			out = append(out, Image{Name: n, Descriptor: d})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lookup finds the image called name (a normalized reference string).
func (s *Store) Lookup(name string) (v1.Descriptor, error) {
	imgs, err := s.Images()
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, im := range imgs {
		if im.Name == name {
			return im.Descriptor, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("%w: image %s", ErrNotFound, name)
}

// Tag points name at desc, replacing any image of that name. The blobs desc
// refers to must already be in the store.
func (s *Store) Tag(name string, desc v1.Descriptor) error {
	if !s.HasBlob(desc.Digest) {
		return fmt.Errorf("%w: manifest %s", ErrNotFound, desc.Digest)
	}
	d := desc
	d.Annotations = map[string]string{RefNameAnnotation: name}
	return s.withIndexLock(func() error {
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		idx.Manifests = removeName(idx.Manifests, name)
		idx.Manifests = append(idx.Manifests, d)
		return s.writeIndex(idx)
	})
}

// Untag removes the name; the blobs stay until Prune.
func (s *Store) Untag(name string) error {
	return s.withIndexLock(func() error {
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		n := len(idx.Manifests)
		idx.Manifests = removeName(idx.Manifests, name)
		if len(idx.Manifests) == n {
			return fmt.Errorf("%w: image %s", ErrNotFound, name)
		}
		return s.writeIndex(idx)
	})
}

func removeName(ds []v1.Descriptor, name string) []v1.Descriptor {
	out := ds[:0]
	for _, d := range ds {
		if d.Annotations[RefNameAnnotation] != name {
			out = append(out, d)
		}
	}
	return out
}
