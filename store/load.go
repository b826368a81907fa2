package store

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/kiln-build/kiln/archive"
)

// Load reads a docker archive (`docker save`) or an OCI archive (an OCI
// layout in a tar) and stores its images under their names. It returns
// the names. Nothing is named until every blob is stored.
func (s *Store) Load(ctx context.Context, path string) ([]string, error) {
	kind, err := archiveKind(path)
	if err != nil {
		return nil, err
	}
	if kind == "oci" {
		return s.loadOCI(ctx, path)
	}
	return s.loadDocker(path)
}

// LoadReader is Load for a stream (stdin): it is spooled to a temp file
// first, since archives are read more than once.
func (s *Store) LoadReader(ctx context.Context, r io.Reader) ([]string, error) {
	dir, err := s.TempDir("load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "in.tar")
	f, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return s.Load(ctx, p)
}

func (s *Store) loadDocker(path string) ([]string, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range m {
		var tag *name.Tag
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return nil, err
			}
			tag = &t
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, err
		}
		desc, err := s.PutImage(img)
		if err != nil {
			return nil, err
		}
		for _, t := range d.RepoTags {
			n, err := Normalize(t)
			if err != nil {
				return nil, err
			}
			if err := s.Tag(n, desc); err != nil {
				return nil, err
			}
			names = append(names, n)
		}
	}
	return names, nil
}

// archiveKind tells a docker archive (manifest.json) from an OCI one.
func archiveKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	kind := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("not a tar archive: %w", err)
		}
		switch h.Name {
		case "manifest.json", "./manifest.json":
			return "docker", nil
		case "index.json", "./index.json":
			kind = "oci"
		}
	}
	if kind == "" {
		return "", fmt.Errorf("neither a docker archive (manifest.json) nor an OCI archive (index.json)")
	}
	return kind, nil
}

func (s *Store) loadOCI(ctx context.Context, path string) ([]string, error) {
	dir, err := s.TempDir("load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := archive.Apply(ctx, dir, f, archive.WithNoSameOwner()); err != nil {
		return nil, err
	}
	if err := plainFilesOnly(dir); err != nil {
		return nil, err
	}
	idx, manifests, err := ReadLayout(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range manifests {
		n := d.Annotations["io.containerd.image.name"]
		if n == "" {
			n = d.Annotations[RefNameAnnotation]
		}
		if n == "" || !d.MediaType.IsImage() && !d.MediaType.IsIndex() {
			continue
		}
		full, err := Normalize(n)
		if err != nil {
			continue // a bare tag like "latest" names no repository
		}
		var desc v1.Descriptor
		if d.MediaType.IsIndex() {
			desc, err = s.putIndex(idx, d)
		} else {
			var img v1.Image
			if img, err = idx.Image(d.Digest); err == nil {
				desc, err = s.PutImage(img)
			}
		}
		if err != nil {
			return nil, err
		}
		if err := s.Tag(full, desc); err != nil {
			return nil, err
		}
		names = append(names, full)
	}
	return names, nil
}

// putIndex copies the index d of a layout (a multi-platform image, or an
// image with attestations) with the manifests it lists into the store.
func (s *Store) putIndex(layout v1.ImageIndex, d v1.Descriptor) (v1.Descriptor, error) {
	ii, err := layout.ImageIndex(d.Digest)
	if err != nil {
		return v1.Descriptor{}, err
	}
	im, err := ii.IndexManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, m := range im.Manifests {
		if !m.MediaType.IsImage() {
			return v1.Descriptor{}, fmt.Errorf("index %s: %s is a %s, not an image", d.Digest, m.Digest, m.MediaType)
		}
		img, err := ii.Image(m.Digest)
		if err != nil {
			return v1.Descriptor{}, err
		}
		if _, err := s.PutImage(img); err != nil {
			return v1.Descriptor{}, fmt.Errorf("index %s: %w", d.Digest, err)
		}
	}
	raw, err := ii.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	dg, err := s.WriteBlobBytes(raw)
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: d.MediaType, Digest: dg, Size: int64(len(raw))}, nil
}

// plainFilesOnly refuses an unpacked OCI archive holding anything but
// regular files and directories: a symlink named index.json or
// blobs/sha256/… would make the layout reader open a file of the host.
func plainFilesOnly(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			return fmt.Errorf("OCI archive member %s is not a regular file (%v)", rel, d.Type())
		}
		return nil
	})
}

// ReadLayout opens the OCI image layout in dir and lists its index's
// manifests.
func ReadLayout(dir string) (v1.ImageIndex, []v1.Descriptor, error) {
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("oci-layout %s: %w", dir, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, nil, fmt.Errorf("oci-layout %s: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, nil, fmt.Errorf("oci-layout %s: %w", dir, err)
	}
	return idx, im.Manifests, nil
}

// PutImage copies a v1.Image (from a tarball, a layout or a registry) into
// the store and returns its manifest descriptor. Blobs already present are
// not copied again.
func (s *Store) PutImage(img v1.Image) (v1.Descriptor, error) {
	layers, err := img.Layers()
	if err != nil {
		return v1.Descriptor{}, err
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return v1.Descriptor{}, err
		}
		if s.HasBlob(d) {
			continue
		}
		rc, err := l.Compressed()
		if err != nil {
			return v1.Descriptor{}, err
		}
		_, _, err = s.WriteBlob(rc, d)
		rc.Close()
		if err != nil {
			return v1.Descriptor{}, fmt.Errorf("layer %s: %w", d, err)
		}
	}
	return s.PutManifest(img)
}

// PutManifest stores img's config and manifest (not its layers) and
// returns the manifest's descriptor.
func (s *Store) PutManifest(img v1.Image) (v1.Descriptor, error) {
	cfg, err := img.RawConfigFile()
	if err != nil {
		return v1.Descriptor{}, err
	}
	if _, err := s.WriteBlobBytes(cfg); err != nil {
		return v1.Descriptor{}, err
	}
	raw, err := img.RawManifest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	md, err := s.WriteBlobBytes(raw)
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := img.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: md, Size: int64(len(raw))}, nil
}
