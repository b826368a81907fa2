package solver

import (
	"strings"

	"github.com/kiln-build/kiln/progress"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// withTriggers prepends the ONBUILD triggers the stage's base carries: the
// base image's config OnBuild, or the ONBUILD lines of a base stage. The
// triggers run like the stage's own instructions, and the stage's image
// keeps only its own ONBUILD lines.
func (s *stage) withTriggers(cmds []instructions.Command) ([]instructions.Command, error) {
	var triggers []string
	if s.ps.BaseStage != nil {
		for _, c := range s.ps.BaseStage.Inst.Commands {
			if ob, ok := c.(*instructions.OnbuildCommand); ok {
				triggers = append(triggers, ob.Expression)
			}
		}
	} else {
		triggers = s.img.Config.Config.OnBuild
	}
	s.img.Config.Config.OnBuild = nil
	if len(triggers) == 0 {
		return cmds, nil
	}
	var out []instructions.Command
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t))
		if err != nil {
			return nil, s.errorf(s.ps.Inst.Location, "ONBUILD trigger %q: %w", t, err)
		}
		if len(res.AST.Children) != 1 {
			return nil, s.errorf(s.ps.Inst.Location, "ONBUILD trigger %q: must be one instruction", t)
		}
		c, err := instructions.ParseCommand(res.AST.Children[0])
		if err != nil {
			return nil, s.errorf(s.ps.Inst.Location, "ONBUILD trigger %q: %w", t, err)
		}
		out = append(out, c)
	}
	if s.ps.BaseStage == nil { // the plan knows a base stage's triggers
		if err := s.triggerReads(out); err != nil {
			return nil, err
		}
	}
	progress.Notef(s.sink, "[%s] running %d ONBUILD trigger(s) from %s", s.ps.Ref(), len(out), s.ps.Base)
	return append(out, cmds...), nil
}
