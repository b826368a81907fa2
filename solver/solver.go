package solver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"golang.org/x/sync/errgroup"
)

// build is one run of the solver: the plan and the parts every stage
// shares, each owning one concern.
type build struct {
	opts   *options
	st     *store.Store
	plan   *plan.Plan
	sink   progress.Sink
	sched  *scheduler       // which stage runs when, job slots
	layers *layerStore      // step cache, snapshots, remote caches
	files  *contextFiles    // the build context (nil without one)
	images *source.Resolver // base images and COPY --from images
	runner *runner          // RUN's executor and per-RUN temp files
	// triggers are reads of stages by base images' ONBUILD triggers
	triggers *autoTriggers
	tmp      string // the build's temp space
	// label prefixes the stage names shown of one platform of a
	// multi-platform build ("linux/arm64 "); only the first platform
	// reports what concerns them all (lint warnings, skipped stages)
	label   string
	others  bool
	started time.Time
}

// Build runs the Dockerfile of contextDir (or the one an option names) in
// st and returns the target stage's image. contextDir may be "" for a
// Dockerfile without a context (WithDockerfileContent). The Result holds
// temp space until Close.
func Build(ctx context.Context, st *store.Store, contextDir string, opts ...Option) (*Result, error) {
	o, err := makeOptions(contextDir, opts)
	if err != nil {
		return nil, err
	}
	if err := o.applyReproducible(ctx); err != nil {
		return nil, err
	}
	df, err := o.readDockerfile()
	if err != nil {
		return nil, err
	}
	if err := checkSyntax(df, o.sink); err != nil {
		return nil, err
	}
	var plans []*plan.Plan
	for _, plat := range o.platforms {
		p, err := plan.New(df, plan.Options{BuildArgs: o.buildArgs, Target: o.target, Contexts: o.contexts, Platform: plat})
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	for _, name := range o.noCacheFilter {
		if !hasStage(plans[0], name) {
			return nil, fmt.Errorf("--no-cache-filter: no stage %q in %s", name, df.Name)
		}
	}
	b, err := newBuild(ctx, st, o, plans[0])
	if err != nil {
		return nil, err
	}
	if err := b.resolveEpoch(ctx, plans); err != nil {
		os.RemoveAll(b.tmp)
		return nil, err
	}
	if len(plans) == 1 {
		res, err := b.run(ctx)
		if err != nil {
			os.RemoveAll(b.tmp)
			return nil, err
		}
		return res, nil
	}
	return b.runPlatforms(ctx, plans)
}

// runPlatforms builds the target for every platform at once. The
// platforms share the job slots, the step cache (a step with the same key
// on two platforms, such as one of a FROM --platform=$BUILDPLATFORM
// stage, runs once) and the resolved images.
func (b *build) runPlatforms(ctx context.Context, plans []*plan.Plan) (*Result, error) {
	res := &Result{Plan: plans[0], layers: b.layers, tmp: b.tmp}
	res.Platforms = make([]*Result, len(plans))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range plans {
		pb := *b
		pb.plan = p
		pb.sched = newScheduler(p, b.sched.jobs)
		pb.label = dockerfile.FormatPlatform(p.Platform) + " "
		pb.others = i > 0
		g.Go(func() error {
			r, err := pb.run(gctx)
			if err != nil {
				return fmt.Errorf("[%s] %w", dockerfile.FormatPlatform(p.Platform), err)
			}
			r.tmp = "" // the parent's to remove
			res.Platforms[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		os.RemoveAll(b.tmp)
		return nil, err
	}
	res.Epoch = res.Platforms[0].Epoch
	res.Warnings = res.Platforms[0].Warnings
	res.Request = res.Platforms[0].Request
	return res, nil
}

// maxDockerfileSize is BuildKit's limit on a Dockerfile.
const maxDockerfileSize = 16 << 20

// hasStage reports a stage named name, or shown as name ("stage-1").
func hasStage(p *plan.Plan, name string) bool {
	for _, s := range p.Stages {
		if s.Name == name || s.Ref() == name {
			return true
		}
	}
	return false
}

// readDockerfile parses the Dockerfile, named in messages relative to the
// context when it is inside it ("Dockerfile:7: …").
func (o *options) readDockerfile() (*dockerfile.File, error) {
	if o.dockerfileData != nil {
		return dockerfile.Parse("Dockerfile", bytes.NewReader(o.dockerfileData))
	}
	fh, err := os.Open(o.dockerfile)
	if err != nil {
		return nil, fmt.Errorf("reading the Dockerfile: %w", err)
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err == nil && fi.Size() > maxDockerfileSize {
		return nil, fmt.Errorf("Dockerfile exceeds maximum allowed size of %d bytes", maxDockerfileSize)
	}
	name := o.dockerfile
	if o.contextDir != "" {
		if rel, err := filepath.Rel(o.contextDir, o.dockerfile); err == nil && !strings.HasPrefix(rel, "..") {
			name = rel
		}
	}
	return dockerfile.Parse(name, fh)
}

func newBuild(ctx context.Context, st *store.Store, o *options, p *plan.Plan) (*build, error) {
	sn, err := snapshot.Open(st, o.snapshotter)
	if err != nil {
		return nil, err
	}
	b := &build{opts: o, st: st, plan: p, sink: o.sink, started: time.Now()}
	if b.tmp, err = st.TempDir("build-"); err != nil {
		return nil, err
	}
	remotes, err := pullCaches(ctx, o.cacheFrom, o.sink)
	if err != nil {
		os.RemoveAll(b.tmp)
		return nil, err
	}
	idx := cache.Open(filepath.Join(st.Root(), "cache.db"))
	b.sched = newScheduler(p, make(chan struct{}, o.jobs))
	b.runner = newRunner(b.tmp, filepath.Join(st.Root(), "seccomp"), o.runtime, o.executor)
	b.triggers = newAutoTriggers()
	sopts := append([]source.Option{source.WithProgress(o.sink), source.WithNamedContexts(o.contexts)}, o.sources...)
	if o.pull {
		sopts = append(sopts, source.WithPull())
	}
	b.images = source.New(st, sn, sopts...)
	b.layers = newLayerStore(st, sn, idx, remotes, b.images, o.sink, b.tmp)
	if o.contextDir != "" {
		if b.files, err = openContext(o.contextDir, o.dockerfile, idx); err != nil {
			os.RemoveAll(b.tmp)
			return nil, err
		}
	}
	return b, nil
}

// pullCaches reads the --cache-from caches; as in buildx, a missing cache
// is a warning, not an error.
func pullCaches(ctx context.Context, specs []cache.Spec, sink progress.Sink) ([]*cache.Remote, error) {
	var out []*cache.Remote
	for _, sp := range specs {
		r, err := cache.Pull(ctx, sp)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			sink.Event(progress.Warning{Message: err.Error()})
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// run runs the stages and assembles the result.
func (b *build) run(ctx context.Context) (*Result, error) {
	var warnings []dockerfile.LintWarning
	if !b.others {
		var err error
		if warnings, err = b.lint(ctx); err != nil {
			return nil, err
		}
		for _, s := range b.plan.Skipped {
			b.sink.Event(progress.StageSkipped{Stage: s.Ref(), Target: b.plan.Target.Ref()})
		}
	}
	img, err := b.sched.run(ctx, b.runStage)
	if err == nil && b.files != nil && !b.others {
		err = b.files.finish(b.sink)
	}
	if err != nil {
		return nil, err
	}
	res := &Result{Plan: b.plan, Image: img, layers: b.layers, tmp: b.tmp, Warnings: warnings, Platform: b.plan.Platform,
		Request: b.request(), Images: b.resolved()}
	if t, ok := b.plan.Epoch(); ok {
		res.Epoch = &t
	}
	for _, s := range b.plan.Order {
		r := b.sched.result(s)
		res.Stages = append(res.Stages, StageResult{Name: s.Ref(), Image: r.img, Stats: r.stats})
	}
	return res, nil
}

// checkSyntax handles a "# syntax=" directive: kiln's built-in frontend
// stands in for docker/dockerfile (a note says so); another frontend is
// an error, since kiln runs no frontend images.
func checkSyntax(f *dockerfile.File, sink progress.Sink) error {
	if f.Syntax == "" {
		return nil
	}
	name := f.Syntax
	if i := strings.IndexAny(name, ":@"); i >= 0 {
		name = name[:i]
	}
	switch strings.TrimPrefix(strings.TrimPrefix(name, "docker.io/"), "index.docker.io/") {
	case "docker/dockerfile", "docker/dockerfile-upstream":
		progress.Notef(sink, "note: %s: # syntax=%s: using kiln's built-in Dockerfile frontend", f.Name, f.Syntax)
		return nil
	}
	return dockerfile.Errorf(f.Name, directiveLine(f.Source, "syntax"),
		"# syntax=%s: kiln only has its built-in Dockerfile frontend (docker/dockerfile)", f.Syntax)
}

// directiveLine locates the parser directive name (# name=…) among the
// first lines of src.
func directiveLine(src []byte, name string) []parser.Range {
	for i, l := range strings.Split(string(src), "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "#") {
			break
		}
		if k, _, ok := strings.Cut(strings.TrimSpace(l[1:]), "="); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return []parser.Range{{Start: parser.Position{Line: i + 1}, End: parser.Position{Line: i + 1}}}
		}
	}
	return nil
}
