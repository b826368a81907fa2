package solver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/source"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// stage is the state of one stage while its instructions run. It embeds
// the build's shared parts (nil for Configure, which only applies config
// instructions).
type stage struct {
	*build
	ps    *plan.Stage
	img   *image.Image
	file  string     // the Dockerfile's name, for errors
	epoch *time.Time // SOURCE_DATE_EPOCH, for history times
	// env is what instructions see: the config's Env plus ARG values, in
	// order (BuildKit's LLB state env).
	env []string
	// args are the ARGs declared so far (shown in RUN history).
	args   []instructions.KeyValuePairOptional
	cmdSet bool
	lex    *dockerfile.Lex
	// key is the cache key of the stage's state so far: its base, then
	// each step that made a layer.
	key    string
	cached bool // the current step came from the cache
	n, of  int  // step counter, for progress
	stats  *StageStats
	auto   autoState // automatic toolchain caches (autocache.go)
}

// runStage runs a stage; when an instruction writes into (or names) a
// path an automatic cache was mounted at, the stage runs again from its
// start without that path (rule 3 of autocache.go).
func (b *build) runStage(ctx context.Context, ps *plan.Stage) (*image.Image, error) {
	var excluded []string
	for {
		img, err := b.runStageOnce(ctx, ps, excluded)
		var re *autoRestart
		if !errors.As(err, &re) {
			return img, err
		}
		excluded = append(excluded, re.paths...)
		progress.Notef(b.sink, "auto cache: %s in stage %s%s, after a RUN used %s as a cache: running the stage again without it",
			re.why, b.label, ps.Ref(), strings.Join(re.paths, ", "))
	}
}

func (b *build) runStageOnce(ctx context.Context, ps *plan.Stage, excluded []string) (*image.Image, error) {
	r := b.sched.result(ps)
	r.stats = StageStats{}
	s := &stage{build: b, ps: ps, file: b.plan.File.Name, lex: dockerfile.NewLex(b.plan.File.EscapeToken), stats: &r.stats}
	if t, ok := b.plan.Epoch(); ok {
		s.epoch = &t
	}
	s.stats.Start = time.Now()
	defer func() { s.stats.End = time.Now() }()
	if err := s.from(ctx); err != nil {
		return nil, err
	}
	if ps.Context != "" { // replaced by a named build context
		r.env, r.key = s.env, s.key
		return s.img, nil
	}
	own, err := b.plan.File.Fresh(ps.Inst.Commands)
	if err != nil {
		return nil, err
	}
	cmds, err := s.withTriggers(own)
	if err != nil {
		return nil, err
	}
	s.autoInit(cmds, excluded)
	s.of = len(cmds) + 1
	for _, c := range cmds {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.n++
		if err := s.dispatch(ctx, c); err != nil {
			return nil, err
		}
	}
	if ps == b.plan.Target {
		s.applyLabels(b.opts.labels)
	}
	r.env, r.args, r.key = s.env, s.args, s.key
	return s.img, nil
}

// step announces the stage's current step; config marks one that only
// changes the image config.
func (s *stage) step(name string, config bool) *progress.Step {
	return progress.Start(s.sink, progress.StepInfo{ID: fmt.Sprintf("%s%s#%d", s.label, s.ps.Ref(), s.n+1),
		Stage: s.label + s.ps.Ref(), Index: s.n + 1, Total: s.of, Name: name, Config: config})
}

// configOnly reports an instruction that changes only the image config.
func configOnly(c instructions.Command) bool {
	switch c.(type) {
	case *instructions.RunCommand, *instructions.CopyCommand, *instructions.AddCommand, *instructions.WorkdirCommand:
		return false
	}
	return true
}

// from sets up the stage's starting image: scratch, an earlier stage, or
// an image from the store or a registry.
func (s *stage) from(ctx context.Context) error {
	ps := s.ps
	s.of = len(ps.Inst.Commands) + 1
	name := "FROM " + ps.Base
	if ps.Context != "" {
		s.of, name = 1, "FROM "+ps.Context+" (build context "+ps.Name+")"
	}
	step := s.step(name, false)
	err := s.fromBase(ctx)
	step.Done(err)
	if err != nil {
		return err
	}
	s.img.Config.Created = nil
	cfg := &s.img.Config.Config
	if _, ok := image.EnvGet(cfg.Env, "PATH"); !ok {
		cfg.Env = append(cfg.Env, "PATH="+source.DefaultPath)
	}
	s.env = append([]string(nil), cfg.Env...)
	if ps.BaseStage != nil {
		// ARG values a child stage inherits stay visible, but the config's
		// ENV wins over them again
		s.env = append([]string(nil), s.sched.result(ps.BaseStage).env...)
		for _, kv := range cfg.Env {
			k, v, _ := strings.Cut(kv, "=")
			s.env = image.EnvSet(s.env, k, v)
		}
	}
	return nil
}

func (s *stage) fromBase(ctx context.Context) error {
	ps := s.ps
	if ps.BaseStage != nil {
		parent, err := s.sched.wait(ctx, ps.BaseStage)
		if err != nil {
			return err
		}
		s.img = parent.img.Clone()
		s.img.Config.Config.OnBuild = nil
		s.args = append(s.args, parent.args...)
		s.key = parent.key
		return nil
	}
	ref := ps.Base
	if ps.Context != "" {
		ref = ps.Name // the resolver knows the context by the stage's name
	}
	img, err := s.images.Resolve(ctx, ref, ps.Platform)
	if err != nil {
		return s.errorf(ps.Inst.Location, "FROM %s: %w", ps.Base, err)
	}
	s.img = img
	// keyed by the config digest, which names the content whatever the
	// manifest format or compression it came in
	s.key = cache.BaseKey(img.ID.String())
	return nil
}

// dispatch expands and runs one instruction.
func (s *stage) dispatch(ctx context.Context, c instructions.Command) error {
	if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if _, isArg := c.(*instructions.ArgCommand); !isArg {
			if err := ex.Expand(s.expandWord); err != nil {
				return s.errorf(c.Location(), "%s: %w", strings.ToUpper(c.Name()), err)
			}
		}
	}
	if ex, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
		if err := ex.ExpandRaw(s.expandRaw); err != nil {
			return s.errorf(c.Location(), "%s: %w", strings.ToUpper(c.Name()), err)
		}
	}
	if err := s.autoWrites(c); err != nil {
		return err
	}
	if cc, ok := c.(*instructions.CopyCommand); ok && cc.From != "" {
		// wait for the source stage first, so the step's time is its own
		if dep := s.plan.StageByRef(cc.From); dep != nil {
			if _, err := s.sched.wait(ctx, dep); err != nil {
				return err
			}
		}
	}
	step := s.step(oneLine(c), configOnly(c))
	s.cached = false
	layers := len(s.img.Layers)
	err := s.run(ctx, c, step)
	if err == nil && len(s.img.Layers) > layers {
		s.stats.Steps++
		l := &s.img.Layers[len(s.img.Layers)-1]
		l.Made.Stage, l.Made.Instruction = s.ps.Ref(), oneLine(c)
		if loc := c.Location(); len(loc) > 0 {
			l.Made.Line = loc[0].Start.Line
		}
	}
	if err == nil && s.cached {
		s.stats.Cached++
		step.Cached()
		return nil
	}
	step.Done(err)
	return err
}

func (s *stage) run(ctx context.Context, c instructions.Command, step *progress.Step) error {
	switch c := c.(type) {
	case *instructions.RunCommand:
		return s.runRun(ctx, c, step)
	case *instructions.CopyCommand:
		return s.runCopy(ctx, c)
	case *instructions.AddCommand:
		return s.runAdd(ctx, c)
	case *instructions.WorkdirCommand:
		return s.runWorkdir(ctx, c)
	case *instructions.ArgCommand:
		return s.runArg(c)
	default:
		return s.runMetadata(c)
	}
}

// layerStep adds the layer of the step whose cache key is key: from the
// cache when it has the key (and the cache is on for the stage), else by
// running fn on a fresh snapshot over the stage's layers. It records in
// s.cached whether the cache answered.
func (s *stage) layerStep(ctx context.Context, key string, fn func(root string) error) error {
	return s.makeLayer(ctx, key, rootOnly(fn), false, nil)
}

// layerStepMounts is layerStep for a step that may use automatic caches:
// fn sets *mounts to those it used (see layerStore.make).
func (s *stage) layerStepMounts(ctx context.Context, key string, fn func(root string) error, mounts *map[string]string) error {
	return s.makeLayer(ctx, key, rootOnly(fn), false, mounts)
}

// rootOnly is the stepFunc of a step that works on the merged tree and
// does not count what it writes.
func rootOnly(fn func(root string) error) stepFunc {
	return func(root, _ string) (int64, error) { return -1, fn(root) }
}

// layerStepUpper is layerStep for a step that writes the snapshot's upper
// dir itself, resolving paths through the view below it (COPY: see
// snapshot.Snapshotter.PrepareUpper).
func (s *stage) layerStepUpper(ctx context.Context, key string, fn stepFunc) error {
	return s.makeLayer(ctx, key, fn, true, nil)
}

// stepFunc makes a step's change under root; below is "" when root is the
// merged tree, else the read-only view of the lower layers that root, the
// step's upper dir, lies over. It returns the bytes of the regular files
// the change holds, or -1 when it did not count them (they are then added
// up from the committed snapshot).
type stepFunc func(root, below string) (int64, error)

func (s *stage) makeLayer(ctx context.Context, key string, fn stepFunc, upper bool, mounts *map[string]string) error {
	s.cached = false
	if !s.noCache() {
		if l, ok := s.layers.lookup(ctx, key); ok {
			s.img.Layers = append(s.img.Layers, l)
			s.key, s.cached = key, true
			return nil
		}
	}
	lowers, err := s.layers.lowers(ctx, s.img)
	if err != nil {
		return err
	}
	// one run per key at a time: the platforms of a multi-platform build
	// share the steps whose inputs are the same (a second asker waits and
	// takes the first one's layer, as a cache hit)
	ran := false
	v, err, _ := s.layers.steps.Do(key, func() (any, error) {
		ran = true
		return s.layers.make(ctx, key, lowers, fn, upper, mounts)
	})
	if err != nil {
		return err
	}
	s.img.Layers = append(s.img.Layers, v.(image.Layer))
	s.key, s.cached = key, !ran
	return nil
}

// noCache reports whether the cache is off for this stage.
func (s *stage) noCache() bool {
	if s.opts.noCache {
		return true
	}
	for _, n := range s.opts.noCacheFilter {
		if n == s.ps.Name || n == s.ps.Ref() {
			return true
		}
	}
	return false
}

func (s *stage) expandWord(word string) (string, error) {
	out, _, err := s.lex.ProcessWord(word, shell.EnvsFromSlice(s.env))
	return out, err
}

func (s *stage) expandRaw(word string) (string, error) {
	lex := dockerfile.NewLex('\\')
	lex.SkipProcessQuotes = true
	out, _, err := lex.ProcessWord(word, shell.EnvsFromSlice(s.env))
	return out, err
}

// errorf is an error naming the Dockerfile line of loc; %w keeps the
// wrapped error reachable (errors.Is(err, context.Canceled)).
func (s *stage) errorf(loc any, format string, args ...any) error {
	l, _ := loc.([]parser.Range)
	return dockerfile.Errorf(s.file, l, format, args...)
}

// oneLine is an instruction's source text on one line, shortened.
func oneLine(c instructions.Command) string {
	txt := fmt.Sprint(c)
	txt = strings.Join(strings.Fields(txt), " ")
	if len(txt) > 100 {
		txt = txt[:97] + "..."
	}
	return txt
}
