package export

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/registry"
	"github.com/kiln-build/kiln/store"
)

// OCIArchive writes the image as an OCI image layout in a tar stream, with
// names as org.opencontainers.image.ref.name annotations.
// desc may be an image index (a multi-platform image): its manifests and
// their blobs all go in.
func OCIArchive(st *store.Store, desc v1.Descriptor, names []string, w io.Writer) error {
	tw := tar.NewWriter(w)
	put := func(name string, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	if len(names) == 0 {
		idx.Manifests = append(idx.Manifests, desc)
	}
	for _, n := range names {
		// as buildx and containerd: ref.name is the tag, the full name is
		// in io.containerd.image.name
		d := desc
		d.Annotations = map[string]string{}
		for k, v := range desc.Annotations {
			d.Annotations[k] = v
		}
		d.Annotations[store.RefNameAnnotation] = tagOf(n)
		d.Annotations["io.containerd.image.name"] = n
		idx.Manifests = append(idx.Manifests, d)
	}
	ib, _ := json.Marshal(idx)
	if err := put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	if err := put("index.json", ib); err != nil {
		return err
	}
	blobs, err := descBlobs(st, desc)
	if err != nil {
		return err
	}
	for _, d := range blobs {
		if err := putBlob(tw, st, d); err != nil {
			return err
		}
	}
	return tw.Close()
}

func tagOf(n string) string {
	if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
		return n[i+1:]
	}
	return "latest"
}

// descBlobs lists the blobs desc reaches: an image's manifest, config
// and layers, or an index's and those of every manifest in it.
func descBlobs(st *store.Store, desc v1.Descriptor) ([]v1.Hash, error) {
	seen := map[v1.Hash]bool{}
	var out []v1.Hash
	add := func(d v1.Hash) {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	var walk func(d v1.Descriptor) error
	walk = func(d v1.Descriptor) error {
		add(d.Digest)
		if d.MediaType.IsIndex() {
			raw, err := st.ReadBlob(d.Digest)
			if err != nil {
				return err
			}
			im, err := v1.ParseIndexManifest(strings.NewReader(string(raw)))
			if err != nil {
				return err
			}
			for _, m := range im.Manifests {
				if err := walk(m); err != nil {
					return err
				}
			}
			return nil
		}
		img, err := st.Image(d.Digest)
		if err != nil {
			return err
		}
		m, err := img.Manifest()
		if err != nil {
			return err
		}
		add(m.Config.Digest)
		for _, l := range m.Layers {
			add(l.Digest)
		}
		return nil
	}
	if err := walk(desc); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hex < out[j].Hex })
	return out, nil
}

func putBlob(tw *tar.Writer, st *store.Store, d v1.Hash) error {
	f, err := st.OpenBlob(d)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	h := &tar.Header{Name: "blobs/" + d.Algorithm + "/" + d.Hex, Mode: 0o644, Size: fi.Size(), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// DockerArchive writes the image as a `docker load` tarball tagged with names.
// An image with attestations (an index of one image) gives that image.
func DockerArchive(st *store.Store, desc v1.Descriptor, names []string, w io.Writer) error {
	desc, err := dockerImage(st, desc)
	if err != nil {
		return err
	}
	img, err := st.Image(desc.Digest)
	if err != nil {
		return err
	}
	refs := map[name.Reference]v1.Image{}
	for _, n := range names {
		t, err := name.NewTag(n)
		if err != nil {
			return err
		}
		refs[t] = img
	}
	if len(refs) == 0 {
		d, err := name.NewDigest("kiln-image@" + desc.Digest.String())
		if err != nil {
			return err
		}
		refs[d] = img
	}
	return tarball.MultiRefWrite(refs, w)
}

// Push uploads the image (or index, for a multi-platform image) to each
// registry reference.
func Push(ctx context.Context, st *store.Store, desc v1.Descriptor, refs []string, kc authn.Keychain) error {
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	var tagged remote.Taggable
	if desc.MediaType.IsIndex() {
		idx, err := st.ImageIndex(desc.Digest)
		if err != nil {
			return err
		}
		tagged = idx
	} else {
		img, err := st.Image(desc.Digest)
		if err != nil {
			return err
		}
		tagged = img
	}
	for _, r := range refs {
		ref, err := name.ParseReference(r)
		if err != nil {
			return fmt.Errorf("push %s: %w", r, err)
		}
		opts := registry.Remote(ctx, kc) // retries with backoff, stops on cancel
		switch t := tagged.(type) {
		case v1.ImageIndex:
			err = remote.WriteIndex(ref, t, opts...)
		case v1.Image:
			err = remote.Write(ref, t, opts...)
		}
		if err != nil {
			return fmt.Errorf("pushing %s: %w", r, err)
		}
	}
	return nil
}
