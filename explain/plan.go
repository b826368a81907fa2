package explain

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kiln-build/kiln/plan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// CheckPlan runs, before any build, the leak rules a Dockerfile alone
// decides (kiln build --check): WholeStageCopied, ContextCopiedWhole and
// ToolchainBaseImage by the base image's name. The rules that read files
// (toolchains, caches, VCS dirs, secrets) need the built image: Check.
// Each warning's Line is the instruction's.
func CheckPlan(p *plan.Plan, opts ...Option) ([]Warning, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	var chain []*plan.Stage // the target and the stages it is FROM
	in := map[*plan.Stage]bool{}
	for s := p.Target; s != nil; s = s.BaseStage {
		chain, in[s] = append(chain, s), true
	}
	multi := false
	var builder string
	for _, s := range p.Order {
		if !in[s] {
			multi, builder = true, s.Ref()
		}
	}
	var ws []Warning
	add := func(w Warning) {
		if !o.skip[w.Rule] {
			w.File, w.Layer = p.File.Name, -1
			if w.Paths == nil {
				w.Paths = []string{}
			}
			ws = append(ws, w)
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		s := chain[i]
		if s.Inst == nil || s.Context != "" {
			continue
		}
		for _, cmd := range s.Inst.Commands {
			var from string
			var srcs []string
			switch c := cmd.(type) {
			case *instructions.CopyCommand:
				from, srcs = c.From, c.SourcePaths
			case *instructions.AddCommand:
				srcs = c.SourcePaths
			default:
				continue
			}
			if !anyWhole(srcs) {
				continue
			}
			text := instructionText(cmd)
			line := startLine(cmd.Location())
			switch st := stageNamed(p, from); {
			case st != nil:
				builder = st.Ref()
				add(Warning{Rule: RuleWholeStageCopied, Line: line, Stage: st.Ref(), Paths: []string{"/"},
					Message: fmt.Sprintf("%q copies stage %s's whole filesystem into the image", text, st.Ref()),
					Fix:     fmt.Sprintf("COPY --from=%s only the paths the image needs (the binary, its assets), not /", st.Ref())})
			case from == "" && multi:
				add(Warning{Rule: RuleContextCopiedWhole, Line: line, Stage: s.Ref(),
					Message: fmt.Sprintf("%q copies the whole build context into the final image of a multi-stage build", text),
					Fix: "copy only what the final image needs: the build output with COPY --from=<builder stage>, or named files " +
						"(COPY app.py requirements.txt ./); keep the rest out with .dockerignore"})
			}
		}
	}
	root := chain[len(chain)-1]
	if t, ok := matchToolchainImage(root.Base); ok && multi && root.Context == "" && root.Inst != nil {
		add(Warning{Rule: RuleToolchainBaseImage, Line: startLine(root.Inst.Location), Stage: p.Target.Ref(),
			Message: fmt.Sprintf("the final stage %s is FROM %s, a toolchain image, while stage %s does the building",
				p.Target.Ref(), root.Base, builder),
			Fix: fmt.Sprintf("base the final stage on a runtime image — %s — and COPY --from=%s only the build's output",
				t.instead, builder)})
	}
	return ws, nil
}

// stageNamed is the stage a COPY --from names (by name or index), if any.
func stageNamed(p *plan.Plan, from string) *plan.Stage {
	if from == "" {
		return nil
	}
	for _, s := range p.Stages {
		if s.Name != "" && strings.EqualFold(s.Name, from) {
			return s
		}
	}
	if n, err := strconv.Atoi(from); err == nil && n >= 0 && n < len(p.Stages) {
		return p.Stages[n]
	}
	return nil
}

func startLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// instructionText is an instruction as the Dockerfile spells it, on one
// line ("COPY --from=build / /").
func instructionText(cmd instructions.Command) string {
	if s, ok := cmd.(fmt.Stringer); ok {
		return strings.Join(strings.Fields(s.String()), " ")
	}
	return strings.ToUpper(cmd.Name())
}
