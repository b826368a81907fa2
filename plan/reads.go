package plan

import (
	"path"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
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
	r := stageRead{dep: dep}
	for _, s := range srcs {
		r.paths = append(r.paths, readPrefix(s))
	}
	st.reads = append(st.reads, r)
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
// ONBUILD triggers of base images are not known to the plan.
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
