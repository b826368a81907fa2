package image

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// Layer is one filesystem layer.
type Layer struct {
	// Dir holds the layer's files in overlay format (see package archive).
	Dir string
	// DiffID is the digest of the uncompressed layer tar, zero until known.
	DiffID v1.Hash
	// Blob is the compressed layer in the store, zero until exported.
	Blob v1.Descriptor
	// Key is the cache key of the build step that made the layer ("" for
	// layers of base images).
	Key string
	// Created is when the step that made the layer first ran.
	Created time.Time
	// Size is the bytes of file content in the layer (0 when unknown).
	Size int64
	// Origin names the stage or image the layer's files came from
	// (COPY --from), "" for the stage's own work.
	Origin string
	// Made says which build step made the layer (zero for base layers).
	Made Provenance
}

// Provenance is the build step a layer came from.
type Provenance struct {
	Stage       string   `json:"stage,omitempty"`       // the stage whose step made it
	Instruction string   `json:"instruction,omitempty"` // the instruction, on one line
	Line        int      `json:"line,omitempty"`        // its Dockerfile line
	Sources     []string `json:"sources,omitempty"`     // COPY/ADD source paths
}

// Image is a config and its layers, bottom first.
type Image struct {
	Config dockerspec.DockerOCIImage
	Layers []Layer
	// Digest is the manifest digest the image came from ("" for built ones).
	Digest v1.Hash
	// ID is the digest of the image's config as it came (docker's image
	// ID): the same whatever the manifest format or layer compression.
	ID v1.Hash
}

// Lowers lists the layer dirs top first, as overlay wants them.
func (im *Image) Lowers() []string {
	out := make([]string, 0, len(im.Layers))
	for i := len(im.Layers) - 1; i >= 0; i-- {
		out = append(out, im.Layers[i].Dir)
	}
	return out
}

// Clone copies the image so the copy's config and layer list can change
// without touching the original.
func (im *Image) Clone() *Image {
	c := &Image{Layers: append([]Layer(nil), im.Layers...), Digest: im.Digest, ID: im.ID}
	c.Config = im.Config
	cfg := &c.Config.Config
	cfg.Env = append([]string(nil), cfg.Env...)
	cfg.Cmd = append([]string(nil), cfg.Cmd...)
	cfg.Entrypoint = append([]string(nil), cfg.Entrypoint...)
	cfg.Shell = append([]string(nil), cfg.Shell...)
	cfg.OnBuild = append([]string(nil), cfg.OnBuild...)
	cfg.Labels = cloneMap(cfg.Labels)
	cfg.ExposedPorts = cloneMap(cfg.ExposedPorts)
	cfg.Volumes = cloneMap(cfg.Volumes)
	if cfg.Healthcheck != nil {
		h := *cfg.Healthcheck
		cfg.Healthcheck = &h
	}
	c.Config.History = append(c.Config.History[:0:0], im.Config.History...)
	c.Config.RootFS.DiffIDs = append(c.Config.RootFS.DiffIDs[:0:0], im.Config.RootFS.DiffIDs...)
	return c
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ChainID computes the OCI chain ID of a stack of diff IDs.
func ChainID(diffIDs []v1.Hash) v1.Hash {
	if len(diffIDs) == 0 {
		return v1.Hash{}
	}
	c := diffIDs[0]
	for _, d := range diffIDs[1:] {
		sum := sha256.Sum256([]byte(c.String() + " " + d.String()))
		c = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	}
	return c
}

// EnvGet returns the value of key in a KEY=VALUE list.
func EnvGet(env []string, key string) (string, bool) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if k == key {
			return v, true
		}
	}
	return "", false
}

// EnvSet sets key in a KEY=VALUE list, in place if present, else appended.
func EnvSet(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// Record is what a build knew of the image it made, kept beside the
// manifest in the store ("build" record): which stage and instruction
// made each layer, and what each stage cost. `kiln explain` reads it.
type Record struct {
	Dockerfile string        `json:"dockerfile"`
	Target     string        `json:"target"`
	Stages     []StageRecord `json:"stages"`
	Layers     []LayerRecord `json:"layers"` // the image's layers, bottom first
}

// StageRecord is one stage that ran.
type StageRecord struct {
	Name  string `json:"name"`
	Base  string `json:"base"`  // its FROM: an image, "scratch" or a stage
	Bytes int64  `json:"bytes"` // file content of the layers the stage's own steps made
	Steps int    `json:"steps"` // steps that made a layer
}

// LayerRecord is one layer of the image.
type LayerRecord struct {
	DiffID    string     `json:"diff_id"`
	Digest    string     `json:"digest"`
	Size      int64      `json:"size"`                 // compressed
	Bytes     int64      `json:"bytes,omitempty"`      // file content, when known
	BaseImage string     `json:"base_image,omitempty"` // set for layers that came with the base image
	FromStage string     `json:"from_stage,omitempty"` // COPY --from's stage or image
	Made      Provenance `json:"made"`
}
