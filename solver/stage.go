package solver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/source"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// stage is the state of one stage while its instructions run.
type stage struct {
	b   *builder
	ps  *plan.Stage
	img *image.Image
	// env is what instructions see: the config's Env plus ARG values, in
	// order (BuildKit's LLB state env).
	env []string
	// args are the ARGs declared so far (shown in RUN history).
	args   []instructions.KeyValuePairOptional
	cmdSet bool
	lex    *shell.Lex
	// key is the cache key of the stage's state so far: its base, then
	// each step that made a layer.
	key    string
	cached bool // the current step came from the cache
	n, of  int  // step counter, for progress
}

func (b *builder) runStage(ctx context.Context, ps *plan.Stage) (*image.Image, error) {
	s := &stage{b: b, ps: ps, lex: shell.NewLex(b.opts.File.EscapeToken)}
	stats := &b.results[ps].stats
	stats.Start = time.Now()
	defer func() { stats.End = time.Now() }()
	if err := s.from(ctx); err != nil {
		return nil, err
	}
	cmds, err := s.withTriggers(ps.Inst.Commands)
	if err != nil {
		return nil, err
	}
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
		s.applyLabels(b.opts.Labels)
	}
	r := b.results[ps]
	r.env, r.args, r.key = s.env, s.args, s.key
	return s.img, nil
}

// from sets up the stage's starting image: scratch, an earlier stage, or
// an image from the store or a registry.
func (s *stage) from(ctx context.Context) error {
	ps := s.ps
	step := s.b.prog.Start(fmt.Sprintf("[%s 1/%d] FROM %s", ps.Ref(), len(ps.Inst.Commands)+1, ps.Base))
	var err error
	if ps.BaseStage != nil {
		var parent *image.Image
		parent, err = s.b.waitStage(ctx, ps.BaseStage)
		if err == nil {
			s.img = parent.Clone()
			s.img.Config.Config.OnBuild = nil
			s.args = append(s.args, s.b.stageArgs(ps.BaseStage)...)
			s.key = s.b.results[ps.BaseStage].key
		}
	} else {
		s.img, err = s.b.res.Resolve(ctx, ps.Base)
		if err != nil {
			err = s.b.errorf(ps.Inst.Location, "FROM %s: %v", ps.Base, err)
		} else {
			// keyed by the config digest, which names the content whatever
			// the manifest format or compression it came in
			s.key = cache.BaseKey(s.img.ID.String())
		}
	}
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
		s.env = s.b.stageEnv(ps.BaseStage)
		for _, kv := range cfg.Env {
			k, v, _ := strings.Cut(kv, "=")
			s.env = image.EnvSet(s.env, k, v)
		}
	}
	return nil
}

// dispatch expands and runs one instruction.
func (s *stage) dispatch(ctx context.Context, c instructions.Command) error {
	if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if _, isArg := c.(*instructions.ArgCommand); !isArg {
			if err := ex.Expand(s.expandWord); err != nil {
				return s.b.errorf(c.Location(), "%s: %v", strings.ToUpper(c.Name()), err)
			}
		}
	}
	if ex, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
		if err := ex.ExpandRaw(s.expandRaw); err != nil {
			return s.b.errorf(c.Location(), "%s: %v", strings.ToUpper(c.Name()), err)
		}
	}
	if cc, ok := c.(*instructions.CopyCommand); ok && cc.From != "" {
		// wait for the source stage first, so the step's time is its own
		if dep := s.b.plan.StageByRef(cc.From); dep != nil {
			if _, err := s.b.waitStage(ctx, dep); err != nil {
				return err
			}
		}
	}
	title := fmt.Sprintf("[%s %d/%d] %s", s.ps.Ref(), s.n+1, s.of, oneLine(c))
	step := s.b.prog.Start(title)
	s.cached = false
	layers := len(s.img.Layers)
	err := s.run(ctx, c, step)
	if err == nil && len(s.img.Layers) > layers {
		s.b.results[s.ps].stats.Steps++
	}
	if err == nil && s.cached {
		s.b.results[s.ps].stats.Cached++
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

func (s *stage) expandWord(word string) (string, error) {
	out, _, err := s.lex.ProcessWord(word, shell.EnvsFromSlice(s.env))
	return out, err
}

func (s *stage) expandRaw(word string) (string, error) {
	lex := shell.NewLex('\\')
	lex.SkipProcessQuotes = true
	out, _, err := lex.ProcessWord(word, shell.EnvsFromSlice(s.env))
	return out, err
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
