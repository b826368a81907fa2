package explain

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/store"
)

// ErrUnknownRule is returned for a rule ID no rule has.
var ErrUnknownRule = errors.New("explain: unknown rule")

// Report explains one image: where each of its layers came from, how big
// each stage was against what it shipped, and the leak warnings. Its JSON
// form (WriteJSON) is documented in docs/explain.md.
type Report struct {
	Image      string    `json:"image"`              // the reference asked for, or the manifest digest
	Digest     string    `json:"digest"`             // the manifest's digest
	ID         string    `json:"id"`                 // the config's digest (the image ID)
	Platform   string    `json:"platform,omitempty"` // os/arch[/variant], from the config
	Dockerfile string    `json:"dockerfile,omitempty"`
	Target     string    `json:"target,omitempty"` // the stage the image is
	Record     bool      `json:"record"`           // false: no build record, layers explained by their history
	Bytes      int64     `json:"bytes"`            // file content of all layers
	Size       int64     `json:"size"`             // compressed layers
	Layers     []Layer   `json:"layers"`           // bottom first
	Stages     []Stage   `json:"stages"`
	Warnings   []Warning `json:"warnings"`
	Notes      []string  `json:"notes,omitempty"` // what could not be explained, and why
	// Attestations are the SBOMs and provenances attached to the image
	// in its index (kiln build --sbom, --provenance).
	Attestations []Attestation `json:"attestations,omitempty"`
}

// Layer is one layer of the image and what made it.
type Layer struct {
	Index        int        `json:"index"` // 0 is the bottom layer
	DiffID       string     `json:"diff_id"`
	Digest       string     `json:"digest"`
	Size         int64      `json:"size"`         // compressed
	Uncompressed int64      `json:"uncompressed"` // the layer tar
	Bytes        int64      `json:"bytes"`        // file content
	Files        int        `json:"files"`        // entries other than directories
	Origin       string     `json:"origin"`       // where its bytes are counted: a stage or an image
	Stage        string     `json:"stage,omitempty"`
	Instruction  string     `json:"instruction,omitempty"`
	Line         int        `json:"line,omitempty"`
	FromStage    string     `json:"from_stage,omitempty"`
	BaseImage    string     `json:"base_image,omitempty"`
	CreatedBy    string     `json:"created_by,omitempty"` // the config history's text
	TopPaths     []PathSize `json:"top_paths"`
	Read         bool       `json:"read"` // false when the layer's blob could not be read

	tree *treeDir
}

// Stage is a stage of the build, or an image some of the layers came
// from, with what it built and what of it reached the image.
type Stage struct {
	Name string `json:"name"`
	// Kind is "stage", "base-image" (the layers the target's FROM brought)
	// or "image" (COPY --from an image).
	Kind   string `json:"kind"`
	Base   string `json:"base,omitempty"` // a stage's FROM
	Target bool   `json:"target,omitempty"`
	Steps  int    `json:"steps,omitempty"` // steps that made a layer
	// Built is the content of the layers the stage's own steps made. What
	// the target stage copied from another stage counts for that stage,
	// not here. For images it equals Shipped.
	Built int64 `json:"built"`
	// Shipped is the content of the image's layers that came from it.
	Shipped int64 `json:"shipped"`
	Layers  []int `json:"layers"` // indexes of those layers
}

// Warning is one leak a rule found.
type Warning struct {
	Rule    string   `json:"rule"`
	Message string   `json:"message"`
	Paths   []string `json:"paths"`
	Layer   int      `json:"layer"`           // index of the layer it is in; -1 for none
	File    string   `json:"file,omitempty"`  // the Dockerfile
	Line    int      `json:"line,omitempty"`  // the instruction's line; 0 when unknown
	Stage   string   `json:"stage,omitempty"` // the stage (or image) the files came from
	Bytes   int64    `json:"bytes"`
	Fix     string   `json:"fix"`
	// Platform is set by Check on an index: the platforms whose images
	// have the warning ("linux/amd64, linux/arm64").
	Platform string `json:"platform,omitempty"`
}

// Analyze explains the image ref names in st: a name ("hello",
// "registry.example/app:1"), a manifest digest or an image ID.
func Analyze(ctx context.Context, st *store.Store, ref string, opts ...Option) (*Report, error) {
	d, err := Resolve(st, ref)
	if err != nil {
		return nil, err
	}
	rep, err := AnalyzeDigest(ctx, st, d, opts...)
	if err != nil {
		return nil, err
	}
	rep.Image = ref
	return rep, nil
}

// AnalyzeDigest explains the image whose manifest is the blob manifest,
// named or not (`kiln explain --last` passes the last build's). Of an
// index (a multi-platform image) it explains the image for the platform
// WithPlatform names, by default this machine's.
func AnalyzeDigest(ctx context.Context, st *store.Store, manifest v1.Hash, opts ...Option) (*Report, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	imgs, isIndex, err := images(st, manifest)
	if err != nil {
		return nil, err
	}
	im, err := pick(imgs, o.platform)
	if err != nil {
		return nil, err
	}
	a, err := load(st, im.digest, o)
	if err != nil {
		return nil, err
	}
	if isIndex {
		var all []string
		for _, x := range imgs {
			all = append(all, x.platform)
		}
		if len(imgs) > 1 {
			a.note("%s is an index of %s: this explains %s", manifest, strings.Join(all, ", "), im.platform)
		}
		if a.rep.Attestations, err = attestationsOf(st, manifest, im.digest); err != nil {
			return nil, err
		}
	} else if o.platform != "" && o.platform != a.rep.Platform {
		return nil, fmt.Errorf("%w: the image is %s, not %s", store.ErrNotFound, a.rep.Platform, o.platform)
	}
	all := make([]int, len(a.rep.Layers))
	for i := range all {
		all[i] = i
	}
	if err := a.read(ctx, all); err != nil {
		return nil, err
	}
	a.attribute()
	if a.rep.Warnings, err = a.check(ctx); err != nil {
		return nil, err
	}
	sort.Strings(a.rep.Notes) // layers are read in parallel
	return a.rep, nil
}

// Check runs the leak rules on the image whose manifest is the blob
// manifest, for the warnings a build prints; of an index, on each
// platform's image (a warning found in several says all their platforms).
// It reads only the layers the Dockerfile made, and the base image's
// layers only when the ToolchainBaseImage rule cannot decide by the
// image's name; what a layer held is kept in the store, so a layer is
// read once (see package doc).
func Check(ctx context.Context, st *store.Store, manifest v1.Hash, opts ...Option) ([]Warning, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	imgs, isIndex, err := images(st, manifest)
	if err != nil {
		return nil, err
	}
	all := []Warning{}
	for _, im := range imgs {
		ws, err := checkImage(ctx, st, im.digest, o)
		if err != nil {
			return nil, err
		}
		if isIndex && len(imgs) > 1 { // (an attested image is an index of one)
			all = mergePlatform(all, ws, im.platform)
		} else {
			all = append(all, ws...)
		}
	}
	return all, nil
}

// mergePlatform adds one platform's warnings to those of the platforms
// before it: the same warning (rule, layer, line, paths) is listed once,
// with its platforms.
func mergePlatform(all, ws []Warning, platform string) []Warning {
	key := func(w Warning) string {
		return fmt.Sprint(w.Rule, w.Layer, w.Line, w.Paths)
	}
	seen := make(map[string]int)
	for i, w := range all {
		seen[key(w)] = i
	}
	for _, w := range ws {
		if i, ok := seen[key(w)]; ok {
			all[i].Platform += ", " + platform
			continue
		}
		w.Platform = platform
		all = append(all, w)
	}
	return all
}

func checkImage(ctx context.Context, st *store.Store, manifest v1.Hash, o *options) ([]Warning, error) {
	a, err := load(st, manifest, o)
	if err != nil {
		return nil, err
	}
	var own []int
	for i := range a.rep.Layers {
		if a.own(i) {
			own = append(own, i)
		}
	}
	if err := a.read(ctx, own); err != nil {
		return nil, err
	}
	return a.check(ctx)
}
