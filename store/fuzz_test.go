package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// manifestSeeds are manifests (or indexes) whose @CONFIG@, @CONFIGSIZE@,
// @LAYER@ and @LAYERSIZE@ the fuzz functions replace with the real digest
// and size of the config and layer blobs they store beside them, so that
// mutations explore past the digest lookups.
var manifestSeeds = []string{
	`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"@CONFIG@","size":@CONFIGSIZE@},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"@LAYER@","size":@LAYERSIZE@}]}`,
	`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"@CONFIG@","size":@CONFIGSIZE@},"layers":[]}`,
	`{"schemaVersion":2,"config":{"digest":"@CONFIG@","size":-1},"layers":[{"digest":"@LAYER@","size":0,"urls":["http://x"]},{"digest":"sha256:zz"}]}`,
	`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"@CONFIG@","size":@CONFIGSIZE@}]}`,
	`{"config":{"data":"e30=","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}}`,
	`null`, `[]`, `{"layers":null}`,
}

var configSeeds = []string{
	`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["@DIFFID@"]},"config":{"Env":["PATH=/bin"],"Cmd":["sh"]},"history":[{"created_by":"x"}]}`,
	`{"rootfs":{"type":"layers","diff_ids":[]},"created":"2024-01-01T00:00:00Z"}`,
	`{"rootfs":{"diff_ids":["sha256:"]},"config":{"ExposedPorts":{"80/tcp":{}},"Healthcheck":{"Test":["NONE"],"Interval":-1}}}`,
	`{"created":"not a time","os.features":[1]}`,
}

// placeholders replaces the seeds' placeholders with real digests.
func placeholders(b []byte, config []byte, layer, diffID v1.Hash, layerSize int) []byte {
	cd := sha256.Sum256(config)
	r := strings.NewReplacer("@CONFIG@", "sha256:"+hex.EncodeToString(cd[:]), "@CONFIGSIZE@", strconv.Itoa(len(config)),
		"@LAYER@", layer.String(), "@LAYERSIZE@", strconv.Itoa(layerSize), "@DIFFID@", diffID.String())
	return []byte(r.Replace(string(b)))
}

// FuzzImage: reading an image from a stored manifest and config blob
// (manifests come from registries, archives and layouts) never panics,
// and whatever it returns is self-consistent enough to walk.
func FuzzImage(f *testing.F) {
	for _, m := range manifestSeeds {
		for _, c := range configSeeds {
			f.Add([]byte(m), []byte(c))
		}
	}
	st, err := Open(f.TempDir()) // one per worker process
	if err != nil {
		f.Fatal(err)
	}
	layer := []byte("not really a layer")
	ld, _, _ := v1.SHA256(bytes.NewReader(layer))
	if _, _, err := st.WriteBlob(bytes.NewReader(layer), ld); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, manifest, config []byte) {
		config = placeholders(config, nil, ld, ld, len(layer))
		manifest = placeholders(manifest, config, ld, ld, len(layer))
		if _, err := st.WriteBlobBytes(config); err != nil {
			t.Fatal(err)
		}
		md, err := st.WriteBlobBytes(manifest)
		if err != nil {
			t.Fatal(err)
		}
		img, err := st.Image(md)
		if err != nil {
			return
		}
		walkImage(img)
	})
}

// walkImage calls everything a build or an export asks of an image.
func walkImage(img v1.Image) {
	img.MediaType()
	img.Size()
	img.Digest()
	img.RawManifest()
	img.ConfigName()
	if cf, err := img.ConfigFile(); err == nil && cf != nil {
		_ = cf.RootFS.DiffIDs
	}
	m, err := img.Manifest()
	if err != nil || m == nil {
		return
	}
	ls, err := img.Layers()
	if err != nil {
		return
	}
	for _, l := range ls {
		l.Digest()
		l.DiffID()
		l.MediaType()
		l.Size()
		if rc, err := l.Compressed(); err == nil {
			io.Copy(io.Discard, io.LimitReader(rc, 1<<16))
			rc.Close()
		}
	}
}

// FuzzReadLayout: an OCI layout's index.json (kiln load, oci-layout://
// named contexts, --cache-from type=local) never panics the reader, nor
// the images it lists.
func FuzzReadLayout(f *testing.F) {
	for _, s := range []string{
		`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"@MANIFEST@","size":@MANIFESTSIZE@,"annotations":{"org.opencontainers.image.ref.name":"1"}}]}`,
		`{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"@MANIFEST@","size":@MANIFESTSIZE@}]}`,
		`{"schemaVersion":2,"manifests":[{"digest":"sha256:../../etc/passwd","size":1}]}`,
		`{"manifests":{}}`, `{`, ``,
	} {
		f.Add([]byte(s), []byte(manifestSeeds[0]))
	}
	dir := f.TempDir()
	blobs := filepath.Join(dir, "blobs", "sha256")
	must(f, os.MkdirAll(blobs, 0o755))
	must(f, os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644))
	config := []byte(`{"rootfs":{"type":"layers","diff_ids":[]}}`)
	cd := sha256.Sum256(config)
	must(f, os.WriteFile(filepath.Join(blobs, hex.EncodeToString(cd[:])), config, 0o644))
	f.Fuzz(func(t *testing.T, index, manifest []byte) {
		manifest = placeholders(manifest, config, v1.Hash{}, v1.Hash{}, 0)
		md := sha256.Sum256(manifest)
		must(t, os.WriteFile(filepath.Join(blobs, hex.EncodeToString(md[:])), manifest, 0o644))
		index = []byte(strings.NewReplacer("@MANIFEST@", "sha256:"+hex.EncodeToString(md[:]),
			"@MANIFESTSIZE@", strconv.Itoa(len(manifest))).Replace(string(index)))
		must(t, os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644))
		idx, descs, err := ReadLayout(dir)
		if err != nil {
			return
		}
		for _, d := range descs {
			if d.MediaType.IsIndex() {
				if child, err := idx.ImageIndex(d.Digest); err == nil {
					child.IndexManifest()
				}
				continue
			}
			if img, err := idx.Image(d.Digest); err == nil {
				walkImage(img)
			}
		}
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
