package export

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/attest"
	"github.com/kiln-build/kiln/solver"
)

// provenanceBuild gathers what a provenance records of one platform's
// build: the request as BuildKit's Dockerfile frontend would have been
// given it, the images used, and for mode=max the steps with the image's
// layers (layers: the committed manifest's, nil when nothing was
// committed).
func provenanceBuild(pr *solver.Result, layers []v1.Descriptor, vcs map[string]string) (attest.Build, error) {
	req := pr.Request
	b := attest.Build{Args: map[string]string{}, Secrets: req.Secrets, SSH: req.SSH, VCS: vcs,
		BuilderPlatform: solver.HostPlatform(), TargetPlatform: attest.FormatPlatform(platformOf(pr)),
		Started: req.Started, Finished: req.Finished, Epoch: pr.Epoch, Complete: true}
	for k, v := range req.BuildArgs {
		b.Args["build-arg:"+k] = v
	}
	for k, v := range req.Labels {
		b.Args["label:"+k] = v
	}
	if req.Target != "" {
		b.Args["target"] = req.Target
	}
	if req.NoCache {
		b.Args["no-cache"] = ""
	}
	if req.Dockerfile != "" {
		b.ConfigPath = filepath.Base(req.Dockerfile)
	}
	if req.ContextDir != "" {
		b.Locals = append(b.Locals, "context", "dockerfile")
	}
	for _, k := range slices.Sorted(maps.Keys(req.Contexts)) {
		v := req.Contexts[k]
		if !strings.Contains(v, "://") && !strings.HasPrefix(v, "target:") {
			b.Args["context:"+k] = "local:" + k // a directory, as buildx passes it
			b.Locals = append(b.Locals, k)
			continue
		}
		b.Args["context:"+k] = v
	}
	for _, im := range pr.Images {
		switch {
		case im.Dir != "":
		case im.Layout:
			b.Complete = false // BuildKit names a layout by pkg:oci; kiln lists only registry images
		default:
			p := v1.Platform{OS: im.Platform.OS, Architecture: im.Platform.Architecture, Variant: im.Platform.Variant}
			m, err := attest.ImageMaterial(im.Ref, &p, im.Digest)
			if err != nil {
				return b, err
			}
			b.Materials = append(b.Materials, m)
		}
	}
	if len(b.Locals) > 0 {
		b.Complete = false
	}
	b.Dockerfile, b.DockerfileName = pr.Plan.File.Source, filepath.Base(pr.Plan.File.Name)
	for _, s := range pr.Steps() {
		as := attest.Step{ID: s.ID, Stage: s.Stage, Instruction: s.Instruction, Lines: s.Lines, Inputs: s.Inputs}
		if n := len(s.Layers); n > 0 && layers != nil && s.Layers[n-1] < len(layers) {
			as.Layers = layers[:s.Layers[n-1]+1]
		}
		if strings.HasPrefix(s.Instruction, "ADD ") && (strings.Contains(s.Instruction, "://") || strings.Contains(s.Instruction, "git@")) {
			b.Complete = false // a download kiln does not list
		}
		b.Steps = append(b.Steps, as)
	}
	return b, nil
}

func platformOf(r *solver.Result) *v1.Platform {
	c := r.Image.Config
	return &v1.Platform{OS: c.OS, Architecture: c.Architecture, Variant: c.Variant}
}
