package plan

import (
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// A stage's files reach other stages in three ways: a later stage is
// FROM it (and inherits all of them), a COPY --from names it (the copied
// source paths), or a RUN --mount from= names it (the mounted source
// path). The plan records each; Reads answers what the stages a build
// runs read of a stage, so the solver may change how a stage runs where
// nothing reads (see the solver's automatic toolchain caches).

// stageRead is one instruction of a stage reading files of dep.
type stageRead struct {
	dep   *Stage
	paths []string // absolute; "/" when the source is not known exactly
}

// recordReads notes what command c of st reads of dep (a --from source).
func (st *Stage) recordReads(c instructions.Command, dep *Stage, from string) {
	st.reads = append(st.reads, stageRead{dep: dep, paths: ReadPaths(c, from)})
}

// ReadPaths are the paths command c reads of the stage or image its
// --from=from names: COPY sources and RUN --mount from= sources, made
// absolute, each cut before its first variable or wildcard (to the
// directory before it). Anything else reads "/".
func ReadPaths(c instructions.Command, from string) []string {
	var srcs []string
	switch c := c.(type) {
	case *instructions.CopyCommand:
		if strings.EqualFold(c.From, from) {
			srcs = append(srcs, c.SourcePaths...)
		}
	case *instructions.RunCommand:
		for _, m := range rawMounts(c) {
			if strings.EqualFold(m.From, from) {
				src := m.Source
				if src == "" {
					src = "/"
				}
				srcs = append(srcs, src)
			}
		}
	}
	if len(srcs) == 0 {
		srcs = []string{"/"} // read something: assume all of it
	}
	var out []string
	for _, s := range srcs {
		out = append(out, readPrefix(s))
	}
	return out
}

// recordTriggerReads notes what the ONBUILD triggers of st's base stage,
// which run in st, read of other stages (an image's triggers are known
// only when it is resolved: the solver checks those).
func (p *Plan) recordTriggerReads(st *Stage, byName map[string]*Stage) {
	if st.BaseStage == nil {
		return
	}
	for _, c := range st.BaseStage.Inst.Commands {
		ob, ok := c.(*instructions.OnbuildCommand)
		if !ok {
			continue
		}
		res, err := parser.Parse(strings.NewReader(ob.Expression))
		if err != nil || len(res.AST.Children) != 1 {
			continue // the solver reports it
		}
		tc, err := instructions.ParseCommand(res.AST.Children[0])
		if err != nil {
			continue
		}
		for _, from := range fromRefs(tc) {
			if dep := p.stageRef(from, byName); dep != nil {
				st.recordReads(tc, dep, from)
			}
		}
	}
}

// rawMounts are a RUN's mounts with every field as written: planning
// sees the flags unexpanded, where GetMounts knows only from= (the solver
// expands the command again before it runs it).
func rawMounts(c *instructions.RunCommand) []*instructions.Mount {
	if err := c.Expand(func(word string) (string, error) { return word, nil }); err != nil {
		return nil
	}
	return mountsOf(c)
}

// readPrefix is the directory a source path reads within, as exactly as
// the unexpanded text tells: the path itself, or for a path with a
// variable or a wildcard the directory before it ("/" when it starts so).
// A --from source is relative to the stage's root.
func readPrefix(src string) string {
	if i := strings.IndexAny(src, "$*?[\\"); i >= 0 {
		src = src[:i]
		if j := strings.LastIndex(src, "/"); j >= 0 {
			src = src[:j+1]
		} else {
			src = ""
		}
	}
	return path.Clean("/" + src)
}

// Reads says what the stages this build runs (Order) read of st: whole
// when one of them is FROM st, else the paths their COPY --from=st and
// RUN --mount from=st read (absolute; a read of "/" reads everything).
// ONBUILD triggers of base stages count for the stage they run in; those
// of base images are not known to the plan.
func (p *Plan) Reads(st *Stage) (paths []string, whole bool) {
	for _, c := range p.Order {
		if c == st {
			continue
		}
		if c.BaseStage == st {
			return nil, true
		}
		for _, r := range c.reads {
			if r.dep == st {
				paths = append(paths, r.paths...)
			}
		}
	}
	return paths, false
}
