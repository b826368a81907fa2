package solver

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/source"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"
)

// Result is a finished build: the target image (config and layer stack)
// and what each stage cost. Layers a remote cache answered, and the layers
// of base images no step needed, are known by their blob only until Lowers
// or FetchBlobs needs them. Close frees the build's temp space.
type Result struct {
	Plan   *plan.Plan
	Image  *image.Image
	Stages []StageResult // the stages that ran, in dependency order
	// Epoch is SOURCE_DATE_EPOCH when the build args set it.
	Epoch *time.Time
	// Warnings are the Dockerfile checks' findings (BuildKit's lint rules).
	Warnings []dockerfile.LintWarning
	// Platform is the image's platform.
	Platform ocispecs.Platform
	// Platforms are the results of a multi-platform build, one per
	// platform (Image is nil then).
	Platforms []*Result
	// Request is what the build was asked to do, and when it ran.
	Request Request
	// Images are the images the build used (FROM, COPY --from, RUN
	// --mount from=) with the digests they resolved to.
	Images []source.Resolved
	layers *layerStore
	tmp    string
}

// StageResult is one stage that ran.
type StageResult struct {
	Name  string
	Image *image.Image
	Stats StageStats
}

// StageStats is what one stage cost.
type StageStats struct {
	Start, End    time.Time
	Steps, Cached int // steps that made a layer, and how many the cache answered
	// AutoCache are the paths the stage's RUN steps got automatic
	// toolchain caches at (see WithoutAutoCache).
	AutoCache []string
}

// Close removes the build's temp space.
func (r *Result) Close() error {
	if r == nil || r.tmp == "" {
		return nil
	}
	return os.RemoveAll(r.tmp)
}

// Snapshots is the snapshotter holding the result's layers.
func (r *Result) Snapshots() snapshot.Snapshotter { return r.layers.snaps }

// Lowers returns img's layer dirs (top first), fetching and extracting
// the layers that are not local yet.
func (r *Result) Lowers(ctx context.Context, img *image.Image) ([]string, error) {
	return r.layers.lowers(ctx, img)
}

// FetchBlobs brings into the store the blobs of img's layers that it does
// not have yet (of a base image, or known only from a remote cache), all
// at once; their files are not extracted.
func (r *Result) FetchBlobs(ctx context.Context, img *image.Image) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(source.UnpackJobs)
	for _, l := range img.Layers {
		g.Go(func() error { return r.layers.fetchBlob(gctx, l) })
	}
	return g.Wait()
}

// RecordBlobs remembers the exported blobs of layers in the cache, so the
// next export of the same steps reuses them.
func (r *Result) RecordBlobs(layers []image.Layer) error { return r.layers.record(layers) }

// Summary is what a build made, for people: each stage's cost, and the
// target's layers with their origin.
type Summary struct {
	Platform string // set for each platform of a multi-platform build
	Target   string
	Stages   []StageSummary
	Skipped  []string
	Layers   []LayerSummary // the layers this build's steps made, bottom first
	Base     int            // layers that came with the base image
	// AutoCaches are the stages that got automatic toolchain caches.
	AutoCaches []AutoCacheSummary `json:",omitempty"`
}

// AutoCacheSummary is a stage whose RUN steps got automatic toolchain
// caches, and their paths.
type AutoCacheSummary struct {
	Stage string
	Paths []string
}

// StageSummary is one stage's line of the summary.
type StageSummary struct {
	Name          string
	Time          time.Duration
	Steps, Cached int
}

// LayerSummary is one layer of the target image.
type LayerSummary struct {
	CreatedBy string // the instruction, as in the history
	Size      int64  // bytes of file content; -1 when unknown
	From      string // the stage (or image) its files came from
}

// Summaries describe the build: one summary, or one per platform.
func (r *Result) Summaries() []Summary {
	if len(r.Platforms) == 0 {
		return []Summary{r.Summary()}
	}
	var out []Summary
	for _, p := range r.Platforms {
		s := p.Summary()
		s.Platform = dockerfile.FormatPlatform(p.Platform)
		out = append(out, s)
	}
	return out
}

// Summary describes the build (of one platform).
func (r *Result) Summary() Summary {
	s := Summary{Target: r.Plan.Target.Ref()}
	for _, st := range r.Stages {
		s.Stages = append(s.Stages, StageSummary{Name: st.Name, Time: st.Stats.End.Sub(st.Stats.Start),
			Steps: st.Stats.Steps, Cached: st.Stats.Cached})
		if len(st.Stats.AutoCache) > 0 {
			s.AutoCaches = append(s.AutoCaches, AutoCacheSummary{Stage: st.Name, Paths: st.Stats.AutoCache})
		}
	}
	for _, ps := range r.Plan.Skipped {
		s.Skipped = append(s.Skipped, ps.Ref())
	}
	hist := layerHistory(r.Image)
	for i, l := range r.Image.Layers {
		if l.Key == "" {
			s.Base++
			continue
		}
		from := l.Origin
		if from == "" {
			from = s.Target
		}
		size := l.Size
		if size == 0 && l.Dir == "" {
			size = -1
		}
		s.Layers = append(s.Layers, LayerSummary{CreatedBy: hist[i], Size: size, From: from})
	}
	return s
}

// layerHistory lines up the image's layers with their created_by text.
func layerHistory(img *image.Image) []string {
	var out []string
	for _, h := range img.Config.History {
		if h.EmptyLayer {
			continue
		}
		out = append(out, strings.Join(strings.Fields(strings.TrimSuffix(h.CreatedBy, " # buildkit")), " "))
	}
	for len(out) < len(img.Layers) {
		out = append([]string{"(base layer)"}, out...)
	}
	return out
}

// Record describes the build for `kiln explain`: each stage's cost and,
// for every layer of the target image, the step that made it. Digests
// are filled in when the image is committed.
func (r *Result) Record() image.Record {
	rec := image.Record{Dockerfile: r.Plan.File.Name, Target: r.Plan.Target.Ref()}
	for _, st := range r.Stages {
		sr := image.StageRecord{Name: st.Name, Steps: st.Stats.Steps}
		for _, ps := range r.Plan.Stages {
			if ps.Ref() == st.Name {
				sr.Base = ps.Base
			}
		}
		for _, l := range st.Image.Layers {
			if l.Made.Stage == st.Name {
				sr.Bytes += l.Size
			}
		}
		rec.Stages = append(rec.Stages, sr)
	}
	base := r.Plan.Target
	for base.BaseStage != nil {
		base = base.BaseStage
	}
	for _, l := range r.Image.Layers {
		lr := image.LayerRecord{DiffID: l.DiffID.String(), Digest: l.Blob.Digest.String(), Size: l.Blob.Size,
			Bytes: l.Size, FromStage: l.Origin, Made: l.Made}
		if l.Key == "" {
			lr.BaseImage = base.Base
		}
		rec.Layers = append(rec.Layers, lr)
	}
	return rec
}
