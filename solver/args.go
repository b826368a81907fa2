package solver

import (
	"strings"

	"github.com/kiln-build/kiln/image"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// runArg declares build args in the stage, as BuildKit's dispatchArg: a
// --build-arg wins, else the default (expanded against the stage env), else
// the global value of the same name.
func (s *stage) runArg(c *instructions.ArgCommand) error {
	var shown []string
	for _, kv := range c.Args {
		arg := kv
		if arg.Value == nil {
			if v, ok := s.plan.Global[arg.Key]; ok {
				v := v
				arg.Value = &v
			}
		}
		if v, ok := s.plan.BuildArg(arg.Key); ok {
			v := v
			arg.Value = &v
		} else if kv.Value != nil {
			v, err := s.expandWord(*kv.Value)
			if err != nil {
				return s.errorf(c.Location(), "ARG %s: %w", arg.Key, err)
			}
			arg.Value = &v
		}
		if arg.Value != nil {
			s.env = image.EnvSet(s.env, arg.Key, *arg.Value)
			shown = append(shown, arg.Key+"="+*arg.Value)
		} else {
			shown = append(shown, arg.Key)
		}
		s.args = append(s.args, arg)
	}
	s.history("ARG "+strings.Join(shown, " "), false, false)
	return nil
}

// runArgsPrefix is the "|2 A=1 B=2" part of a RUN's history: every ARG
// declared in the stage, once, with its value now.
func (s *stage) runArgsPrefix() []string {
	var out []string
	idx := map[string]int{}
	for _, a := range s.args {
		v, ok := image.EnvGet(s.env, a.Key)
		if !ok {
			v = a.ValueString()
		}
		if i, ok := idx[a.Key]; ok {
			out[i] = a.Key + "=" + v
			continue
		}
		idx[a.Key] = len(out)
		out = append(out, a.Key+"="+v)
	}
	return out
}
