package solver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"github.com/kiln-build/kiln/buildcontext"
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/runtime"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/sync/singleflight"
)

// Options are what one build needs besides the store.
type Options struct {
	ContextDir string
	File       *dockerfile.File
	// DockerfilePath is the Dockerfile's path on disk ("" for stdin); its
	// <path>.dockerignore takes precedence over the context's.
	DockerfilePath string
	BuildArgs      map[string]string
	Target         string
	Labels         map[string]string // --label, applied to the target image
	Jobs           int               // stages run at once; 0 = number of CPUs
	Executor       runtime.Executor  // runs RUN steps; nil = in-process libcontainer
	Progress       *progress.Printer
	Resolver       *source.Resolver // nil = a new one over the store
	// NoCache runs every step even when the cache has it (results are
	// still recorded); NoCacheFilter does so only for the named stages.
	NoCache       bool
	NoCacheFilter []string
	// Secrets are the --secret values by id, for RUN --mount=type=secret.
	Secrets map[string][]byte
	// CacheFrom are caches imported with --cache-from.
	CacheFrom []*cache.Remote
	// Pull resolves base images against their registry even when the
	// store has them under that name.
	Pull bool
}

// Result is a finished build. Its layer dirs live in the build's temp space
// until Close.
type Result struct {
	Plan   *plan.Plan
	Image  *image.Image
	tmp    string
	cache  *cache.Index
	b      *builder
	stages []*image.Image // every stage that ran, for cache export
}

// Close removes the build's temp space (step snapshots that were not
// committed to the store by an export).
func (r *Result) Close() error {
	if r == nil || r.tmp == "" {
		return nil
	}
	return os.RemoveAll(r.tmp)
}

// TempDir is where the build keeps its work; exports may use it.
func (r *Result) TempDir() string { return r.tmp }

type builder struct {
	st      *store.Store
	opts    Options
	plan    *plan.Plan
	res     *source.Resolver
	bctx    *buildcontext.Context
	exec    runtime.Executor
	tmp     string
	prog    *progress.Printer
	jobs    chan struct{}
	mu      sync.Mutex
	results map[*plan.Stage]*stageResult
	cache   *cache.Index
	stat    *cache.StatCache
	pulls   singleflight.Group
}

type stageResult struct {
	done chan struct{}
	img  *image.Image
	err  error
	// the stage's final env, ARGs and cache key, inherited by FROM <stage>
	env   []string
	args  []instructions.KeyValuePairOptional
	key   string
	stats StageStats
}

// stageArgs and stageEnv read a finished stage's ARGs and env.
func (b *builder) stageArgs(s *plan.Stage) []instructions.KeyValuePairOptional {
	return append([]instructions.KeyValuePairOptional(nil), b.results[s].args...)
}

func (b *builder) stageEnv(s *plan.Stage) []string {
	return append([]string(nil), b.results[s].env...)
}

// Build runs the build and returns the target stage's image.
func Build(ctx context.Context, st *store.Store, opts Options) (*Result, error) {
	if err := checkSyntax(opts.File, opts.Progress); err != nil {
		return nil, err
	}
	p, err := plan.New(opts.File, plan.Options{BuildArgs: opts.BuildArgs, Target: opts.Target})
	if err != nil {
		return nil, err
	}
	b := &builder{st: st, opts: opts, plan: p, prog: opts.Progress, res: opts.Resolver,
		results: map[*plan.Stage]*stageResult{}, cache: cache.Open(filepath.Join(st.Root(), "cache.db"))}
	if b.res == nil {
		ropts := []source.Option{source.WithLog(func(s string) { b.prog.Printf("%s", s) })}
		if opts.Pull {
			ropts = append(ropts, source.WithPull())
		}
		b.res = source.New(st, ropts...)
	}
	if err := b.openContext(); err != nil {
		return nil, err
	}
	if b.tmp, err = st.TempDir("build-"); err != nil {
		return nil, err
	}
	res := &Result{Plan: p, tmp: b.tmp}
	b.exec = opts.Executor
	jobs := opts.Jobs
	if jobs <= 0 {
		jobs = goruntime.NumCPU()
	}
	b.jobs = make(chan struct{}, jobs)
	for _, w := range opts.File.Warnings {
		if w.Line > 0 {
			b.prog.Printf("warning: %s:%d: %s", opts.File.Name, w.Line, w.Message)
		} else {
			b.prog.Printf("warning: %s: %s", opts.File.Name, w.Message)
		}
	}
	for _, s := range p.Skipped {
		b.prog.Printf("[%s] skipped: not needed by target %s", s.Ref(), p.Target.Ref())
	}
	img, err := b.runStages(ctx)
	if err == nil && b.stat != nil {
		files, read := b.stat.Counts()
		b.prog.Printf("context: %d files checked, %d read (the rest unchanged since the last build)", files, read)
		err = b.stat.Flush()
	}
	if err != nil {
		res.Close()
		return nil, err
	}
	res.Image = img
	res.cache = b.cache
	res.b = b
	for _, st := range p.Order {
		res.stages = append(res.stages, b.results[st].img)
	}
	return res, nil
}

// Epoch is SOURCE_DATE_EPOCH, when the build was given one.
func (r *Result) Epoch() (time.Time, bool) { return r.b.epoch() }

// RecordExport remembers the blobs of the image's exported layers in the
// cache, so the next export of the same steps does not tar them again.
func (r *Result) RecordExport() error {
	for _, l := range r.Image.Layers {
		if l.Key == "" || l.Blob.Digest.Hex == "" {
			continue
		}
		if err := r.cache.SetLayer(l.Key, l.DiffID.String(), l.Blob.Digest.String(), string(l.Blob.MediaType), l.Blob.Size); err != nil {
			return err
		}
	}
	return nil
}

// checkSyntax handles a "# syntax=" directive: kiln's built-in frontend
// stands in for docker/dockerfile (the note says so); another frontend is
// an error, since kiln runs no frontend images.
func checkSyntax(f *dockerfile.File, prog *progress.Printer) error {
	if f.Syntax == "" {
		return nil
	}
	name := f.Syntax
	if i := strings.IndexAny(name, ":@"); i >= 0 {
		name = name[:i]
	}
	switch strings.TrimPrefix(strings.TrimPrefix(name, "docker.io/"), "index.docker.io/") {
	case "docker/dockerfile", "docker/dockerfile-upstream":
		prog.Printf("note: %s: # syntax=%s: using kiln's built-in Dockerfile frontend", f.Name, f.Syntax)
		return nil
	}
	return fmt.Errorf("%s: # syntax=%s: kiln only has its built-in Dockerfile frontend (docker/dockerfile)", f.Name, f.Syntax)
}

func (b *builder) openContext() error {
	if b.opts.ContextDir == "" {
		return nil
	}
	fi, err := os.Stat(b.opts.ContextDir)
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("build context %q: not a directory", b.opts.ContextDir)
	}
	ign, err := buildcontext.LoadIgnore(b.opts.ContextDir, b.opts.DockerfilePath)
	if err != nil {
		return err
	}
	b.bctx, err = buildcontext.New(b.opts.ContextDir, ign)
	return err
}

// runStages starts one goroutine per needed stage; each waits for the
// stages it depends on. The first error cancels the rest.
func (b *builder) runStages(ctx context.Context) (*image.Image, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	for _, s := range b.plan.Order {
		b.results[s] = &stageResult{done: make(chan struct{})}
	}
	for _, s := range b.plan.Order {
		go func(s *plan.Stage) {
			r := b.results[s]
			defer close(r.done)
			r.img, r.err = b.runStage(ctx, s)
			if r.err != nil {
				cancel(r.err)
			}
		}(s)
	}
	var first error
	for _, s := range b.plan.Order {
		r := b.results[s]
		<-r.done
		if r.err != nil && (first == nil || errors.Is(first, context.Canceled)) && !isCancel(r.err, ctx) {
			first = r.err
		}
	}
	if first == nil {
		if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
			first = err
		} else if ctx.Err() != nil {
			first = ctx.Err()
		}
	}
	if first != nil {
		return nil, first
	}
	return b.results[b.plan.Target].img, nil
}

func isCancel(err error, ctx context.Context) bool {
	return errors.Is(err, context.Canceled) && context.Cause(ctx) != nil && !errors.Is(context.Cause(ctx), context.Canceled)
}

// waitStage returns the result of a stage the caller depends on.
func (b *builder) waitStage(ctx context.Context, s *plan.Stage) (*image.Image, error) {
	r, ok := b.results[s]
	if !ok {
		return nil, fmt.Errorf("internal error: stage %s was not scheduled", s.Ref())
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, fmt.Errorf("stage %s failed", s.Ref())
	}
	return r.img, nil
}

// acquire takes a job slot for CPU-heavy work (RUN, COPY).
func (b *builder) acquire(ctx context.Context) (func(), error) {
	select {
	case b.jobs <- struct{}{}:
		return func() { <-b.jobs }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *builder) errorf(loc any, format string, args ...any) error {
	return lineError(b.opts.File.Name, loc, format, args...)
}
