package solver

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/source"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Request is what a build was asked to do, as a provenance records it:
// the options that shape the result, never a secret's value.
type Request struct {
	ContextDir string            // "" for a build without a context
	Dockerfile string            // the Dockerfile, relative to the context when inside it
	Target     string            // --target
	BuildArgs  map[string]string // --build-arg values (and SOURCE_DATE_EPOCH)
	Labels     map[string]string // --label values
	Contexts   map[string]string // --build-context values, by name
	Secrets    []string          // the IDs of --secret values, sorted
	SSH        []string          // the IDs of --ssh values, sorted
	NoCache    bool
	// Started and Finished are when the build began and when its last
	// stage ended (before the export).
	Started, Finished time.Time
}

// request records the options of the build b runs.
func (b *build) request() Request {
	o := b.opts
	r := Request{ContextDir: o.contextDir, Dockerfile: b.plan.File.Name, Target: o.target, BuildArgs: o.buildArgs,
		Labels: o.labels, Contexts: o.contexts, NoCache: o.noCache, Started: b.started, Finished: time.Now()}
	for id := range o.secrets {
		r.Secrets = append(r.Secrets, id)
	}
	for id := range o.ssh {
		r.SSH = append(r.SSH, id)
	}
	sort.Strings(r.Secrets)
	sort.Strings(r.SSH)
	return r
}

// resolved lists the images the build's plan used (its resolver may be
// shared with the other platforms of a multi-platform build).
func (b *build) resolved() []source.Resolved {
	all := b.images.Resolved()
	if !b.others && b.label == "" {
		return all // one platform: everything resolved is this build's
	}
	used := map[string]bool{}
	for _, s := range b.plan.Order {
		if s.BaseStage == nil {
			ref := s.Base
			if s.Context != "" {
				ref = s.Name
			}
			used[ref+"|"+dockerfile.FormatPlatform(s.Platform)] = true
		}
		for _, ref := range s.Images {
			used[ref+"|"+dockerfile.FormatPlatform(b.plan.Platform)] = true
		}
	}
	var out []source.Resolved
	for _, r := range all {
		if used[r.Name+"|"+dockerfile.FormatPlatform(r.Platform)] {
			out = append(out, r)
		}
	}
	return out
}

// Step is one instruction of a stage the build ran, as a provenance
// describes the build in detail (mode=max).
type Step struct {
	ID          string   // "step0", "step1", … in the order the stages ran
	Stage       string   // the stage's name (or stage-N)
	Instruction string   // the instruction after expansion, on one line
	Lines       [][2]int // its Dockerfile lines: ranges of first and last line
	Inputs      []string // the steps it builds on: the stage's step before it, COPY --from's stage
	// Layers are the indexes of the target image's layers the step made
	// (for the target's first FROM of an image: the base image's layers).
	Layers []int
}

// Steps lists the steps of the stages the build ran, each stage's FROM
// first, in the order the stages ran.
func (r *Result) Steps() []Step {
	var out []Step
	last := map[*plan.Stage]string{} // each stage's last step
	byLine := map[string]int{}       // stage and line → step index
	for _, ps := range r.Plan.Order {
		from := Step{Stage: ps.Ref(), Instruction: fromInstruction(ps), Lines: lines(ps.Inst.Location)}
		if ps.BaseStage != nil {
			from.Inputs = []string{last[ps.BaseStage]}
		}
		prev := addStep(&out, from)
		if ps.Context == "" {
			for _, c := range ps.Inst.Commands {
				s := Step{Stage: ps.Ref(), Instruction: oneLineAll(fmt.Sprint(c)), Lines: lines(c.Location()), Inputs: []string{prev}}
				if cc, ok := c.(*instructions.CopyCommand); ok && cc.From != "" {
					if dep := r.Plan.StageByRef(cc.From); dep != nil && last[dep] != "" {
						s.Inputs = append(s.Inputs, last[dep])
					}
				}
				prev = addStep(&out, s)
				if len(s.Lines) > 0 {
					byLine[ps.Ref()+"\x00"+strconv.Itoa(s.Lines[0][0])] = len(out) - 1
				}
			}
		}
		last[ps] = prev
	}
	r.attachLayers(out, byLine)
	return out
}

// fromInstruction is a stage's FROM after expansion (or the named
// context that replaced the stage).
func fromInstruction(ps *plan.Stage) string {
	if ps.Context != "" {
		return "FROM " + ps.Context
	}
	s := "FROM "
	if ps.Inst.Platform != "" {
		s += "--platform=" + dockerfile.FormatPlatform(ps.Platform) + " "
	}
	s += ps.Base
	if ps.Inst.Name != "" {
		s += " AS " + ps.Inst.Name
	}
	return s
}

func addStep(steps *[]Step, s Step) string {
	s.ID = "step" + strconv.Itoa(len(*steps))
	*steps = append(*steps, s)
	return s.ID
}

// attachLayers gives each step the target image's layers it made: a
// layer knows its stage and line; the base image's layers are the FROM's
// of the stage the target is built on.
func (r *Result) attachLayers(steps []Step, byLine map[string]int) {
	if r.Image == nil {
		return
	}
	root := r.Plan.Target
	for root.BaseStage != nil {
		root = root.BaseStage
	}
	from := -1 // the FROM step of the stage the target is built on
	for j := range steps {
		if steps[j].Stage == root.Ref() {
			from = j
			break
		}
	}
	for i, l := range r.Image.Layers {
		if l.Key == "" && l.Made.Stage == "" {
			if from >= 0 {
				steps[from].Layers = append(steps[from].Layers, i)
			}
			continue
		}
		if j, ok := byLine[l.Made.Stage+"\x00"+strconv.Itoa(l.Made.Line)]; ok {
			steps[j].Layers = append(steps[j].Layers, i)
		}
	}
}

func lines(loc []parser.Range) [][2]int {
	var out [][2]int
	for _, r := range loc {
		out = append(out, [2]int{r.Start.Line, r.End.Line})
	}
	return out
}

// oneLineAll is an instruction on one line, whole (oneLine shortens it).
func oneLineAll(s string) string { return strings.Join(strings.Fields(s), " ") }
