package plan

import (
	"strings"

	"github.com/kiln-build/kiln/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// linkDeps records what st needs: its base stage and every --from source.
func (p *Plan) linkDeps(st *Stage, byName map[string]*Stage) error {
	if st.Context != "" {
		return nil // replaced by a named context: its instructions never run
	}
	if st.BaseStage != nil {
		st.Deps = append(st.Deps, st.BaseStage)
		p.recordTriggerReads(st, byName)
	}
	lex := dockerfile.NewLex(p.File.EscapeToken)
	for _, c := range st.Inst.Commands {
		for _, from := range fromRefs(c) {
			// as BuildKit: --from is never expanded, and any variable or
			// quote in it is an error
			res, err := lex.ProcessWordWithMatches(from, shell.EnvsFromSlice(nil))
			if err != nil {
				return p.errorf(c.Location(), "--from=%s: %v", from, err)
			}
			if res.Result != from {
				return p.errorf(c.Location(), "variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround")
			}
			ref := from
			dep := p.stageRef(ref, byName)
			switch {
			case dep == st:
				return p.errorf(c.Location(), "circular dependency: stage %s copies from itself", st.Ref())
			case dep != nil && dep.Index > st.Index:
				return p.errorf(c.Location(), "cannot copy from stage %q, it needs to be defined before current stage %q", from, st.Ref())
			case dep != nil:
				st.Deps = appendUnique(st.Deps, dep)
				st.recordReads(c, dep, from)
				if st.depLoc == nil {
					st.depLoc = map[*Stage]any{}
				}
				if st.depLoc[dep] == nil {
					st.depLoc[dep] = c.Location()
				}
			case isNumber(ref):
				return p.errorf(c.Location(), "--from=%s: invalid stage index %s (the Dockerfile has %d stages)", ref, ref, len(p.Stages))
			default:
				st.Images = append(st.Images, ref)
			}
		}
	}
	return nil
}

func (p *Plan) stageRef(ref string, byName map[string]*Stage) *Stage {
	if s, ok := byName[strings.ToLower(ref)]; ok {
		return s
	}
	if s, ok, _ := p.alias(ref, byName); ok && s != nil {
		return s
	}
	if isNumber(ref) {
		return p.StageByRef(ref)
	}
	return nil
}

// fromRefs lists the --from values of a command (COPY --from, RUN --mount from=).
func fromRefs(c instructions.Command) []string {
	var out []string
	switch c := c.(type) {
	case *instructions.CopyCommand:
		if c.From != "" {
			out = append(out, c.From)
		}
	case *instructions.RunCommand:
		for _, m := range mountsOf(c) {
			if m.From != "" {
				out = append(out, m.From)
			}
		}
	}
	return out
}

func mountsOf(c *instructions.RunCommand) []*instructions.Mount {
	defer func() { _ = recover() }() // GetMounts needs Expand first; planning reads raw flags
	return instructions.GetMounts(c)
}

func appendUnique(ss []*Stage, s *Stage) []*Stage {
	for _, x := range ss {
		if x == s {
			return ss
		}
	}
	return append(ss, s)
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func planError(file string, loc any, format string, args ...any) error {
	var r []parser.Range
	if l, ok := loc.([]parser.Range); ok {
		r = l
	}
	return dockerfile.Errorf(file, r, format, args...)
}
