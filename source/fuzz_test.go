package source_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
)

// FuzzResolveStored: resolving a stored image whose manifest and config
// are anything (a registry's or an archive's) never panics: FROM reads
// the manifest (store.Image), parses the config, checks it against the
// manifest and extracts the layers. @CONFIG@, @CONFIGSIZE@, @LAYER@,
// @LAYERSIZE@ and @DIFFID@ in the inputs become the real digests and
// sizes of the config and of a small real layer.
func FuzzResolveStored(f *testing.F) {
	manifests := []string{
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@CONFIG@","size":@CONFIGSIZE@},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"@LAYER@","size":@LAYERSIZE@}]}`,
		`{"schemaVersion":2,"config":{"digest":"@CONFIG@","size":@CONFIGSIZE@},"layers":[{"digest":"@LAYER@","size":@LAYERSIZE@},{"digest":"@LAYER@","size":@LAYERSIZE@}]}`,
		`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`,
		`{"config":{"digest":"@CONFIG@"},"layers":[{"digest":"sha256:00"}]}`,
	}
	configs := []string{
		`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["@DIFFID@"]},"config":{"Env":["PATH=/bin"],"User":"1:1","Cmd":["sh"],"Healthcheck":{"Test":["CMD","true"]}}}`,
		`{"rootfs":{"type":"layers","diff_ids":["@DIFFID@","@DIFFID@"]},"config":{"ExposedPorts":{"80/tcp":{}},"Volumes":{"/v":{}},"OnBuild":["RUN x"]}}`,
		`{"rootfs":{"diff_ids":[]}}`, `{"config":null,"history":[{"empty_layer":true}]}`, `[]`,
	}
	for _, m := range manifests {
		for _, c := range configs {
			f.Add([]byte(m), []byte(c))
		}
	}
	root := f.TempDir() // one store per worker process
	st, err := store.Open(root)
	if err != nil {
		f.Fatal(err)
	}
	sn, err := snapshot.Open(st, snapshot.Native)
	if err != nil {
		f.Fatal(err)
	}
	ref, err := store.Normalize("fuzz:1")
	if err != nil {
		f.Fatal(err)
	}
	layer, diffID := gzipLayer(f)
	ld, err := st.WriteBlobBytes(layer)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, manifest, config []byte) {
		sub := strings.NewReplacer("@LAYER@", ld.String(), "@LAYERSIZE@", strconv.Itoa(len(layer)), "@DIFFID@", diffID.String())
		config = []byte(sub.Replace(string(config)))
		cd := sha256.Sum256(config)
		sub = strings.NewReplacer("@CONFIG@", "sha256:"+hex.EncodeToString(cd[:]), "@CONFIGSIZE@", strconv.Itoa(len(config)),
			"@LAYER@", ld.String(), "@LAYERSIZE@", strconv.Itoa(len(layer)), "@DIFFID@", diffID.String())
		manifest = []byte(sub.Replace(string(manifest)))
		if _, err := st.WriteBlobBytes(config); err != nil {
			t.Fatal(err)
		}
		md, err := st.WriteBlobBytes(manifest)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Tag(ref, v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: md, Size: int64(len(manifest))}); err != nil {
			t.Fatal(err)
		}
		img, err := source.New(st, sn).Resolve(context.Background(), "fuzz:1", host)
		if err != nil {
			return
		}
		if len(img.Layers) != len(img.Config.RootFS.DiffIDs) {
			t.Fatalf("resolved %d layers for %d diff ids", len(img.Layers), len(img.Config.RootFS.DiffIDs))
		}
	})
}

// gzipLayer is a one-file layer and its diff id.
func gzipLayer(t testing.TB) ([]byte, v1.Hash) {
	t.Helper()
	var plain bytes.Buffer
	tw := tar.NewWriter(&plain)
	tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	diffID, _, _ := v1.SHA256(bytes.NewReader(plain.Bytes()))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	return gz.Bytes(), diffID
}
