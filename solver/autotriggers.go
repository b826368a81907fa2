package solver

import (
	"fmt"
	"sync"

	"github.com/kiln-build/kiln/plan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// autoTriggers are the reads of stages the plan cannot see: ONBUILD
// triggers of base images that name a stage with --from, known when a
// stage resolves its base. A stage claims a path here before it first
// mounts it; a trigger that reads a path a stage already mounts fails the
// build (rebuilding with --no-auto-cache works).
type autoTriggers struct {
	mu     sync.Mutex
	reads  map[*plan.Stage][]string
	active map[*plan.Stage][]string
}

func newAutoTriggers() *autoTriggers {
	return &autoTriggers{reads: map[*plan.Stage][]string{}, active: map[*plan.Stage][]string{}}
}

// claim records that ps mounts p, unless a trigger reads it: then it
// returns that read.
func (t *autoTriggers) claim(ps *plan.Stage, p string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r := readInside(t.reads[ps], p); r != "" {
		return r
	}
	t.active[ps] = append(t.active[ps], p)
	return ""
}

// read records that a trigger reads paths of ps.
func (t *autoTriggers) read(ps *plan.Stage, paths []string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range t.active[ps] {
		if r := readInside(paths, p); r != "" {
			return fmt.Errorf("it reads %s of stage %s, where kiln already mounts an automatic cache (%s): build with --no-auto-cache", r, ps.Ref(), p)
		}
	}
	t.reads[ps] = append(t.reads[ps], paths...)
	return nil
}

// triggerReads records what an image's ONBUILD triggers read of stages.
func (s *stage) triggerReads(cmds []instructions.Command) error {
	for _, c := range cmds {
		var froms []string
		switch c := c.(type) {
		case *instructions.CopyCommand:
			froms = append(froms, c.From)
		case *instructions.RunCommand:
			for _, m := range instructions.GetMounts(c) {
				froms = append(froms, m.From)
			}
		}
		for _, from := range froms {
			dep := s.plan.StageByRef(from)
			if from == "" || dep == nil {
				continue
			}
			if err := s.triggers.read(dep, plan.ReadPaths(c, from)); err != nil {
				return s.errorf(s.ps.Inst.Location, "ONBUILD trigger %s of %s: %w", oneLine(c), s.ps.Base, err)
			}
		}
	}
	return nil
}
