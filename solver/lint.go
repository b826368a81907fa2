package solver

import (
	"context"
	"errors"

	"github.com/kiln-build/kiln/buildcontext"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/explain"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// CheckResult is what Check found: BuildKit's lint warnings for the
// Dockerfile, and an error when a rule must fail the check
// (# check=error=true) or the Dockerfile cannot be built at all. PrintTo
// and PrintErrorTo write them as buildx does.
type CheckResult = dockerfile.LintResult

// LintWarning is one finding of a Dockerfile check.
type LintWarning = dockerfile.LintWarning

// Check runs BuildKit's Dockerfile checks (kiln build --check,
// --call=check) and builds nothing. It reads base images' configs, never
// their layers.
func Check(ctx context.Context, st *store.Store, contextDir string, opts ...Option) (*CheckResult, error) {
	o, err := makeOptions(contextDir, opts)
	if err != nil {
		return nil, err
	}
	df, err := o.readDockerfile()
	if err != nil {
		return nil, err
	}
	sn, err := snapshot.Open(st, o.snapshotter)
	if err != nil {
		return nil, err
	}
	images := source.New(st, sn, append([]source.Option{source.WithNamedContexts(o.contexts)}, o.sources...)...)
	res, err := lint(ctx, images, o, df, false)
	if err != nil || res.Err != nil || o.noLeakCheck {
		return res, err
	}
	// the leak rules the Dockerfile alone decides, after BuildKit's
	p, err := plan.New(df, plan.Options{BuildArgs: o.buildArgs, Target: o.target, Contexts: o.contexts, Platform: o.platforms[0]})
	if err != nil {
		return res, nil // the build reports it
	}
	leaks, err := explain.CheckPlan(p)
	if err != nil {
		return nil, err
	}
	for _, w := range leaks {
		r := []parser.Range{{Start: parser.Position{Line: w.Line}, End: parser.Position{Line: w.Line}}}
		res.Warnings = append(res.Warnings, LintWarning{Rule: w.Rule, Description: leakRules[w.Rule],
			URL: "docs/explain.md (kiln leak rule)", Message: w.Message + "; fix: " + w.Fix,
			StartLine: w.Line, EndLine: w.Line, Location: r})
	}
	return res, nil
}

// leakRules are the leak rules' descriptions, by ID.
var leakRules = func() map[string]string {
	m := map[string]string{}
	for _, r := range explain.Rules() {
		m[r.ID] = r.Description
	}
	return m
}()

// WithoutLeakCheck leaves the leak rules (package explain) out of Check.
func WithoutLeakCheck() Option {
	return func(o *options) error { o.noLeakCheck = true; return nil }
}

// lint runs the checks; forBuild reports what a build of the target
// reports (the target's stages only).
func lint(ctx context.Context, images *source.Resolver, o *options, df *dockerfile.File, forBuild bool) (*CheckResult, error) {
	lopts := []dockerfile.LintOption{dockerfile.WithBuildArgs(o.buildArgs), dockerfile.WithTarget(o.target),
		dockerfile.WithBaseImages(func(ctx context.Context, ref string, plat ocispecs.Platform) (*dockerspec.DockerOCIImage, error) {
			return images.ResolveConfig(ctx, ref, plat)
		})}
	if o.contextDir != "" {
		ign, err := buildcontext.LoadIgnore(o.contextDir, o.dockerfile)
		if err != nil {
			return nil, err
		}
		lopts = append(lopts, dockerfile.WithIgnorePatterns(ign))
	}
	if forBuild {
		lopts = append(lopts, dockerfile.ForBuild())
	}
	return dockerfile.Lint(ctx, df, lopts...)
}

// lintBuild reports the checks' warnings as a build does (once each) and
// fails the build when the Dockerfile asks for it (# check=error=true).
func (b *build) lint(ctx context.Context) ([]dockerfile.LintWarning, error) {
	o, df := b.opts, b.plan.File
	res, err := lint(ctx, b.images, o, df, true)
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		o.sink.Event(progress.Warning{File: df.Name, Line: w.StartLine, Rule: w.Rule, Message: w.Message})
	}
	if errors.Is(res.Err, dockerfile.ErrLintViolation) {
		return res.Warnings, res.Err
	}
	return res.Warnings, nil
}
