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
	"github.com/kiln-build/kiln/store"
)

// OCIArchive writes the image as an OCI image layout in a tar stream, with
// names as org.opencontainers.image.ref.name annotations.
func OCIArchive(st *store.Store, desc v1.Descriptor, names []string, w io.Writer) error {
	img, err := st.Image(desc.Digest)
	if err != nil {
		return err
	}
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
	blobs, err := imageBlobs(img, desc)
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

func imageBlobs(img v1.Image, desc v1.Descriptor) ([]v1.Hash, error) {
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	seen := map[v1.Hash]bool{}
	var out []v1.Hash
	for _, d := range append([]v1.Descriptor{desc, m.Config}, m.Layers...) {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			out = append(out, d.Digest)
		}
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
func DockerArchive(st *store.Store, desc v1.Descriptor, names []string, w io.Writer) error {
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

// Push uploads the image to each registry reference.
func Push(ctx context.Context, st *store.Store, desc v1.Descriptor, refs []string, kc authn.Keychain) error {
	img, err := st.Image(desc.Digest)
	if err != nil {
		return err
	}
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	for _, r := range refs {
		ref, err := name.ParseReference(r)
		if err != nil {
			return fmt.Errorf("push %s: %w", r, err)
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)); err != nil {
			return fmt.Errorf("pushing %s: %w", r, err)
		}
	}
	return nil
}
