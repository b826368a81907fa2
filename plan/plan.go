package plan

import (
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"

	"github.com/kiln-build/kiln/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Options are the inputs of planning besides the Dockerfile.
type Options struct {
	BuildArgs map[string]string // --build-arg values
	Target    string            // --target; "" = last stage
	// Contexts are the named build contexts, by ContextName (see
	// contexts.go).
	Contexts map[string]string
	// Platform is the target platform (TARGETPLATFORM); zero = the host's.
	Platform ocispecs.Platform
}

// Plan is a Dockerfile's stage graph, resolved for one build.
type Plan struct {
	File   *dockerfile.File
	Stages []*Stage
	Target *Stage
	// Order lists the stages the target needs, each after its dependencies.
	Order []*Stage
	// Skipped lists the stages the target does not need.
	Skipped []*Stage
	// Global holds the ARGs before the first FROM, resolved (build args
	// override defaults), plus the automatic platform ARGs.
	Global    map[string]string
	BuildArgs map[string]string
	// Contexts are the named build contexts (--build-context).
	Contexts map[string]string
	// Platform is the target platform, BuildPlatform the host's.
	Platform, BuildPlatform ocispecs.Platform
	// epochSource is where SOURCE_DATE_EPOCH says the epoch comes from
	// (epoch.go), until the solver resolves it.
	epochSource *EpochSource
}

// Stage is one FROM block.
type Stage struct {
	Index     int
	Name      string // lower-case, "" if unnamed
	Inst      *instructions.Stage
	Base      string // FROM argument after expansion ("scratch", an image ref, or a stage)
	BaseStage *Stage // set when FROM names an earlier stage
	Deps      []*Stage
	Images    []string // COPY --from=<image> and RUN --mount from=<image> refs
	// Platform is the stage's platform: its FROM --platform, else the
	// target's.
	Platform ocispecs.Platform
	// Context is set when a named build context replaces the whole stage:
	// its value (a directory, docker-image://…, oci-layout://…), and
	// the stage's instructions never run.
	Context string
	// depLoc is where the stage's Dockerfile names each dependency (a
	// COPY --from or RUN --mount line; a FROM <stage> has none)
	depLoc map[*Stage]any
	// reads are the stage's reads of other stages' files (reads.go)
	reads []stageRead
}

// Ref is how the stage is shown to users: its name, or its index.
func (s *Stage) Ref() string {
	if s.Name != "" {
		return s.Name
	}
	return "stage-" + strconv.Itoa(s.Index)
}

// New plans f for opts.
func New(f *dockerfile.File, opts Options) (*Plan, error) {
	p := &Plan{File: f, BuildArgs: opts.BuildArgs, Contexts: opts.Contexts, Platform: opts.Platform,
		BuildPlatform: dockerfile.HostPlatform()}
	if p.Platform.OS == "" {
		p.Platform = p.BuildPlatform
	}
	if err := checkContexts(opts.Contexts); err != nil {
		return nil, err
	}
	if err := p.resolveGlobals(); err != nil {
		return nil, err
	}
	lex := dockerfile.NewLex(f.EscapeToken)
	byName := map[string]*Stage{}
	for i := range f.Stages {
		st := &Stage{Index: i, Name: strings.ToLower(f.Stages[i].Name), Inst: &f.Stages[i]}
		res, err := lex.ProcessWordWithMatches(st.Inst.BaseName, shell.EnvsFromSlice(p.globalEnv()))
		if err != nil {
			return nil, p.errorf(st.Inst.Location, "FROM %s: %v", st.Inst.BaseName, err)
		}
		st.Base = res.Result
		if err := p.stagePlatform(lex, st); err != nil {
			return nil, err
		}
		if st.Base == "" {
			return nil, p.errorf(st.Inst.Location, "FROM: base name (%s) should not be blank", st.Inst.BaseName)
		}
		// FROM names an earlier stage exactly as that stage's (lower-case)
		// name: "FROM Build" is an image reference, as in BuildKit
		if b, ok := byName[st.Base]; ok {
			st.BaseStage = b
		} else if b, ok, err := p.alias(st.Base, byName); err != nil {
			return nil, p.errorf(st.Inst.Location, "FROM %s: %w", st.Base, err)
		} else if ok {
			st.BaseStage = b
		}
		if v, ok := p.context(st.Name); ok && st.Name != "" && !strings.HasPrefix(v, "target:") {
			st.Context, st.BaseStage = v, nil
		}
		if st.Name != "" {
			// a second stage of the same name (a lint warning) takes the
			// name for what follows, as in BuildKit
			byName[st.Name] = st
		}
		p.Stages = append(p.Stages, st)
	}
	if err := p.planEpoch(); err != nil {
		return nil, err
	}
	for _, st := range p.Stages {
		if err := p.linkDeps(st, byName); err != nil {
			return nil, err
		}
	}
	if err := p.pickTarget(opts.Target, byName); err != nil {
		return nil, err
	}
	if p.Target.Name != "" {
		p.Global["TARGETSTAGE"] = p.Target.Name
	}
	return p, p.order()
}

func (p *Plan) errorf(loc any, format string, args ...any) error {
	return planError(p.File.Name, loc, format, args...)
}

// StageByRef finds a stage by name (any case) or index, as --from does,
// or the stage a target:STAGE build context names.
func (p *Plan) StageByRef(ref string) *Stage {
	for _, s := range p.Stages {
		if s.Name != "" && s.Name == strings.ToLower(ref) {
			return s
		}
	}
	if i, err := strconv.Atoi(ref); err == nil && i >= 0 && i < len(p.Stages) {
		return p.Stages[i]
	}
	if v, ok := p.context(ref); ok {
		if target, ok := strings.CutPrefix(v, "target:"); ok {
			return p.StageByRef(target)
		}
	}
	return nil
}

func (p *Plan) pickTarget(target string, byName map[string]*Stage) error {
	if target == "" {
		p.Target = p.Stages[len(p.Stages)-1]
		return nil
	}
	t, ok := byName[strings.ToLower(target)]
	if !ok {
		names := make([]string, 0, len(byName))
		for n := range byName {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("--target: stage %q not found in %s (stages: %s)", target, p.File.Name, strings.Join(names, ", "))
	}
	p.Target = t
	return nil
}

// order computes the stages the target needs in dependency order and finds
// cycles.
func (p *Plan) order() error {
	state := map[*Stage]int{} // 0 new, 1 visiting, 2 done
	var visit func(s *Stage, path []*Stage) error
	visit = func(s *Stage, path []*Stage) error {
		switch state[s] {
		case 1:
			// name the line that closes the cycle, as BuildKit does
			loc := any(s.Inst.Location)
			if from := path[len(path)-1]; from.depLoc[s] != nil {
				loc = from.depLoc[s]
			}
			return p.errorf(loc, "circular dependency between stages: %s", cyclePath(append(path, s)))
		case 2:
			return nil
		}
		state[s] = 1
		for _, d := range s.Deps {
			if err := visit(d, append(path, s)); err != nil {
				return err
			}
		}
		state[s] = 2
		p.Order = append(p.Order, s)
		return nil
	}
	if err := visit(p.Target, nil); err != nil {
		return err
	}
	for _, s := range p.Stages {
		if state[s] == 0 {
			p.Skipped = append(p.Skipped, s)
		}
	}
	return nil
}

func cyclePath(path []*Stage) string {
	var names []string
	for _, s := range path {
		names = append(names, s.Ref())
	}
	return strings.Join(names, " -> ")
}

// stagePlatform sets the stage's platform: FROM --platform (expanded
// against the global ARGs, such as $BUILDPLATFORM), else the target's.
func (p *Plan) stagePlatform(lex *dockerfile.Lex, st *Stage) error {
	st.Platform = p.Platform
	if st.Inst.Platform == "" {
		return nil
	}
	res, err := lex.ProcessWordWithMatches(st.Inst.Platform, shell.EnvsFromSlice(p.globalEnv()))
	if err != nil {
		return p.errorf(st.Inst.Location, "FROM --platform=%s: %v", st.Inst.Platform, err)
	}
	plat, err := dockerfile.ParsePlatform(res.Result)
	if err != nil {
		return p.errorf(st.Inst.Location, "FROM --platform=%s: %v", st.Inst.Platform, err)
	}
	st.Platform = plat
	return nil
}

// Platform is the host platform, the only one kiln builds for now.
func Platform() (os, arch, variant string) {
	variant = ""
	if runtime.GOARCH == "arm64" {
		variant = "v8"
	}
	return "linux", runtime.GOARCH, variant
}
