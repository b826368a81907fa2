package attest

import (
	"crypto/rand"
	"encoding/base64"
	"math/big"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BuildType is the provenance's buildType: BuildKit's, whose definitions
// (docs/attestations/slsa-definitions.md in BuildKit) say what the
// external parameters mean, and kiln's follow them.
const BuildType = "https://github.com/moby/buildkit/blob/master/docs/attestations/slsa-definitions.md"

// Build is what a provenance records of one platform's build. Package
// export fills it from the solver's result.
type Build struct {
	// Args are the request's arguments as BuildKit's Dockerfile frontend
	// takes them: build-arg:KEY, label:KEY, target, no-cache,
	// context:NAME. Never secret values.
	Args       map[string]string
	ConfigPath string   // the Dockerfile's file name
	Secrets    []string // IDs of the secrets given
	SSH        []string // IDs of the ssh agents given
	Locals     []string // local sources: "context", "dockerfile", named directory contexts
	Materials  []Material
	// BuilderPlatform is the platform kiln ran on, TargetPlatform the
	// image's ("os/arch[/variant]").
	BuilderPlatform, TargetPlatform string
	VCS                             map[string]string // what git says of the context (ContextVCS)
	Started, Finished               time.Time
	// Epoch is SOURCE_DATE_EPOCH: with it the provenance leaves out the
	// build's times and invocation ID, so a reproducible build stays
	// byte for byte the same.
	Epoch *time.Time
	// Complete says the materials are all the build's inputs (no local
	// context, no download).
	Complete bool

	// For mode=max:
	Dockerfile     []byte // the Dockerfile's source
	DockerfileName string
	Steps          []Step
}

// Material is an input of the build with its digest: a base image.
type Material struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest,omitempty"`
}

// ImageMaterial is an image the build used, as BuildKit lists it:
// pkg:docker/REF?platform=… with the digest it resolved to.
func ImageMaterial(ref string, platform *v1.Platform, digest v1.Hash) (Material, error) {
	p, err := DockerPURL(ref, platform)
	if err != nil {
		return Material{}, err
	}
	m := Material{URI: p}
	if digest != (v1.Hash{}) {
		m.Digest = map[string]string{digest.Algorithm: digest.Hex}
	}
	return m, nil
}

// Step is one instruction of the build, for mode=max.
type Step struct {
	ID          string
	Stage       string
	Instruction string
	Lines       [][2]int // Dockerfile line ranges (first, last)
	Inputs      []string // IDs of the steps it builds on
	// Layers is the image's layer stack up to the last layer the step
	// made (bottom first), when it made one of the image's layers.
	Layers []v1.Descriptor
}

// The predicate, in BuildKit's SLSA v1 shape (field order too).
type (
	provenance struct {
		BuildDefinition buildDefinition `json:"buildDefinition"`
		RunDetails      runDetails      `json:"runDetails"`
	}
	buildDefinition struct {
		BuildType            string             `json:"buildType"`
		ResolvedDependencies []Material         `json:"resolvedDependencies,omitempty"`
		ExternalParameters   externalParameters `json:"externalParameters"`
		InternalParameters   internalParameters `json:"internalParameters"`
	}
	externalParameters struct {
		ConfigSource configSource `json:"configSource"`
		Request      request      `json:"request"`
	}
	configSource struct {
		URI    string            `json:"uri,omitempty"`
		Digest map[string]string `json:"digest,omitempty"`
		Path   string            `json:"path,omitempty"`
	}
	request struct {
		Frontend string            `json:"frontend,omitempty"`
		Args     map[string]string `json:"args,omitempty"`
		Secrets  []idRef           `json:"secrets,omitempty"`
		SSH      []idRef           `json:"ssh,omitempty"`
		Locals   []localRef        `json:"locals,omitempty"`
	}
	idRef struct {
		ID string `json:"id"`
	}
	localRef struct {
		Name string `json:"name"`
	}
	internalParameters struct {
		BuildConfig     *buildConfig `json:"buildConfig,omitempty"`
		BuilderPlatform string       `json:"builderPlatform"`
		TargetPlatform  string       `json:"targetPlatform,omitempty"`
	}
	// buildConfig is kiln's description of the build's steps. (BuildKit's
	// has its LLB graph here, llbDefinition; kiln has no LLB.)
	buildConfig struct {
		Steps []buildStep `json:"steps"`
	}
	buildStep struct {
		ID          string   `json:"id"`
		Stage       string   `json:"stage"`
		Instruction string   `json:"instruction"`
		Inputs      []string `json:"inputs,omitempty"`
	}
	runDetails struct {
		Builder  builder  `json:"builder"`
		Metadata metadata `json:"metadata"`
	}
	builder struct {
		ID      string            `json:"id"`
		Version map[string]string `json:"version,omitempty"`
	}
	metadata struct {
		InvocationID string           `json:"invocationId,omitempty"`
		StartedOn    *time.Time       `json:"startedOn,omitempty"`
		FinishedOn   *time.Time       `json:"finishedOn,omitempty"`
		BuildKit     buildkitMetadata `json:"buildkit_metadata"`
		Hermetic     bool             `json:"buildkit_hermetic,omitempty"`
		Completeness completeness     `json:"buildkit_completeness"`
		Reproducible bool             `json:"buildkit_reproducible,omitempty"`
	}
	buildkitMetadata struct {
		VCS    map[string]string            `json:"vcs,omitempty"`
		Source *sourceMetadata              `json:"source,omitempty"`
		Layers map[string][][]v1.Descriptor `json:"layers,omitempty"`
	}
	sourceMetadata struct {
		Locations map[string]locations `json:"locations,omitempty"`
		Infos     []sourceInfo         `json:"infos,omitempty"`
	}
	locations struct {
		Locations []location `json:"locations"`
	}
	location struct {
		Ranges []lineRange `json:"ranges"`
	}
	lineRange struct {
		Start position `json:"start"`
		End   position `json:"end"`
	}
	position struct {
		Line int `json:"line"`
	}
	sourceInfo struct {
		Filename string `json:"filename"`
		Language string `json:"language"`
		Data     string `json:"data"` // base64, as BuildKit's []byte
	}
	completeness struct {
		Request              bool `json:"request"`
		ResolvedDependencies bool `json:"resolvedDependencies"`
	}
)

// Provenance makes the SLSA v1 provenance predicate of b. mode=min
// records the frontend, the materials and the times, and leaves out the
// values of build arguments and labels and the secrets' and ssh IDs
// (saying so in completeness.request, as BuildKit); mode=max adds them,
// the Dockerfile's source, the steps and each step's layers.
func Provenance(b Build, spec ProvenanceSpec) any {
	p := provenance{}
	bd := &p.BuildDefinition
	bd.BuildType = BuildType
	bd.ResolvedDependencies = append([]Material(nil), b.Materials...)
	sort.Slice(bd.ResolvedDependencies, func(i, j int) bool { return bd.ResolvedDependencies[i].URI < bd.ResolvedDependencies[j].URI })
	req := request{Frontend: "dockerfile.v0", Args: map[string]string{}}
	for k, v := range b.Args {
		req.Args[k] = v
	}
	for _, id := range b.Secrets {
		req.Secrets = append(req.Secrets, idRef{id})
	}
	for _, id := range b.SSH {
		req.SSH = append(req.SSH, idRef{id})
	}
	for _, n := range b.Locals {
		req.Locals = append(req.Locals, localRef{n})
	}
	complete := true
	if spec.Mode == "min" {
		for k := range req.Args {
			if strings.HasPrefix(k, "build-arg:") || strings.HasPrefix(k, "label:") {
				delete(req.Args, k)
				complete = false
			}
		}
		req.Secrets, req.SSH = nil, nil
	}
	if len(req.Args) == 0 {
		req.Args = nil
	}
	bd.ExternalParameters = externalParameters{ConfigSource: configSource{Path: b.ConfigPath}, Request: req}
	bd.InternalParameters = internalParameters{BuilderPlatform: b.BuilderPlatform, TargetPlatform: b.TargetPlatform}

	rd := &p.RunDetails
	rd.Builder = builder{ID: spec.BuilderID, Version: map[string]string{"kiln": kilnVersion()}}
	md := &rd.Metadata
	if b.Epoch == nil {
		started, finished := b.Started.UTC(), b.Finished.UTC()
		md.InvocationID, md.StartedOn, md.FinishedOn = invocationID(), &started, &finished
	}
	if len(b.VCS) > 0 {
		md.BuildKit.VCS = b.VCS
	}
	md.Completeness = completeness{Request: complete, ResolvedDependencies: b.Complete}
	md.Reproducible = spec.Reproducible
	if spec.Mode == "max" {
		addSteps(&p, b)
	}
	return p
}

// addSteps puts mode=max's detail in: the steps, their Dockerfile lines,
// the Dockerfile itself and the layers each step made.
func addSteps(p *provenance, b Build) {
	bc := &buildConfig{Steps: []buildStep{}}
	src := &sourceMetadata{Locations: map[string]locations{}}
	layers := map[string][][]v1.Descriptor{}
	for _, s := range b.Steps {
		bc.Steps = append(bc.Steps, buildStep{ID: s.ID, Stage: s.Stage, Instruction: s.Instruction, Inputs: s.Inputs})
		if len(s.Lines) > 0 {
			var loc location
			for _, l := range s.Lines {
				loc.Ranges = append(loc.Ranges, lineRange{Start: position{l[0]}, End: position{l[1]}})
			}
			src.Locations[s.ID] = locations{Locations: []location{loc}}
		}
		if len(s.Layers) > 0 {
			layers[s.ID+":0"] = [][]v1.Descriptor{s.Layers}
		}
	}
	if b.Dockerfile != nil {
		src.Infos = []sourceInfo{{Filename: b.DockerfileName, Language: "Dockerfile", Data: base64.StdEncoding.EncodeToString(b.Dockerfile)}}
	}
	p.BuildDefinition.InternalParameters.BuildConfig = bc
	p.RunDetails.Metadata.BuildKit.Source = src
	if len(layers) > 0 {
		p.RunDetails.Metadata.BuildKit.Layers = layers
	}
}

// invocationID is a random ID like BuildKit's (25 characters, base 36).
func invocationID() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b strings.Builder
	for range 25 {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			return ""
		}
		b.WriteByte(alphabet[n.Int64()])
	}
	return b.String()
}
