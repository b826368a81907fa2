package dockerfile

// The stage graph of a check: which stage builds on which, COPY --from and
// RUN --mount sources, the target, ONBUILD triggers and base images
// (dockerfile2llb's dispatch states).

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/util/suggest"
	"github.com/moby/buildkit/util/system"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// stageState is a stage (or an image a COPY --from or RUN --mount names)
// as the check walks it.
type stageState struct {
	stage    instructions.Stage
	name     string // the stage name, or "stage-N"
	index    int
	base     *stageState // the stage this one builds on
	deps     map[*stageState]instructions.Command
	commands []lintCommand

	unregistered, dispatched, resolved, onBuildInit bool

	platform *ocispecs.Platform
	image    dockerspec.DockerOCIImage // the config so far
	known    bool                      // image's config is known (false: no BaseImageFunc)
	env      *lintEnv                  // the variables instructions see
	args     []instructions.KeyValuePairOptional
	workdir  bool // an instruction set the workdir
	cmd      []parser.Range
	entry    []parser.Range
	health   []parser.Range
}

// lintCommand is an instruction with the stages it reads from.
type lintCommand struct {
	instructions.Command
	sources []*stageState
}

func (c *checker) addState(d *stageState) {
	c.states = append(c.states, d)
	if b, ok := c.byName[d.stage.BaseName]; ok {
		d.base = b
	}
	if d.stage.Name != "" {
		c.byName[strings.ToLower(d.stage.Name)] = d
	}
}

func (c *checker) stageByName(name string) (*stageState, bool) {
	d, ok := c.byName[strings.ToLower(name)]
	return d, ok
}

func (c *checker) resolveTarget() (*stageState, error) {
	if c.opts.target == "" {
		return c.states[len(c.states)-1], nil
	}
	if d, ok := c.stageByName(c.opts.target); ok {
		return d, nil
	}
	var names []string
	for _, d := range c.states {
		names = append(names, d.name)
	}
	err := fmt.Errorf("target stage %q could not be found", c.opts.target)
	if m, ok := suggest.Search(c.opts.target, names, true); ok {
		err = fmt.Errorf("%w (did you mean %s?)", err, m)
	}
	return nil, &Error{File: c.file.Name, Err: err}
}

// buildGraph links each instruction to the stages it reads from.
func (c *checker) buildGraph() error {
	for _, d := range slices.Clone(c.states) {
		d.deps = map[*stageState]instructions.Command{}
		for _, ic := range d.stage.Commands {
			cmd, err := c.toCommand(ic)
			if err != nil {
				return &Error{File: c.file.Name, Err: err} // BuildKit gives no line
			}
			d.commands = append(d.commands, cmd)
			c.addDeps(d, cmd)
		}
	}
	return c.checkCycles()
}

func (c *checker) addDeps(d *stageState, cmd lintCommand) {
	for _, src := range cmd.sources {
		if d.deps == nil {
			d.deps = map[*stageState]instructions.Command{}
		}
		d.deps[src] = cmd.Command
		if src.unregistered {
			c.addState(src)
		}
	}
}

func (c *checker) toCommand(ic instructions.Command) (lintCommand, error) {
	cmd := lintCommand{Command: ic}
	switch ic := ic.(type) {
	case *instructions.CopyCommand:
		if ic.From == "" {
			break
		}
		res, err := c.shlex.ProcessWordWithMatches(ic.From, shell.EnvsFromSlice(nil))
		if err != nil {
			return cmd, err
		}
		if res.Result != ic.From {
			return cmd, errors.New("variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround")
		}
		src, err := c.source(ic.From, ic.Location())
		if err != nil {
			return cmd, err
		}
		cmd.sources = []*stageState{src}
	case *instructions.RunCommand:
		for _, m := range instructions.GetMounts(ic) {
			from := m.From
			if from == "" {
				from = "scratch"
			}
			src, ok := c.stageByName(from)
			if !ok {
				src = &stageState{stage: instructions.Stage{BaseName: from}, unregistered: true}
			}
			cmd.sources = append(cmd.sources, src)
		}
	}
	return cmd, nil
}

// source is the stage COPY --from names: by index, by name, else an image.
func (c *checker) source(from string, loc []parser.Range) (*stageState, error) {
	if i, err := strconv.Atoi(from); err == nil {
		if i < 0 || i >= len(c.states) {
			return nil, fmt.Errorf("invalid stage index %d", i)
		}
		return c.states[i], nil
	}
	if d, ok := c.stageByName(from); ok {
		return d, nil
	}
	return &stageState{stage: instructions.Stage{BaseName: from, Location: loc}, unregistered: true}, nil
}

// checkCycles fails on stages that depend on each other.
func (c *checker) checkCycles() error {
	visited := map[*stageState]bool{}
	path := map[*stageState]bool{}
	var visit func(*stageState, []instructions.Command) []instructions.Command
	visit = func(d *stageState, cur []instructions.Command) []instructions.Command {
		if visited[d] {
			return nil
		}
		visited[d], path[d] = true, true
		for _, dep := range sortedDeps(d) {
			next := append(slices.Clone(cur), d.deps[dep])
			if path[dep] {
				return next
			}
			if found := visit(dep, next); found != nil {
				return found
			}
		}
		delete(path, d)
		return nil
	}
	for _, d := range c.states {
		if cmds := visit(d, nil); cmds != nil {
			return c.errAt(cmds[0].Location(), fmt.Errorf("circular dependency detected on stage: %s", d.name))
		}
	}
	if len(c.states) == 1 {
		c.states[0].name = ""
	}
	return nil
}

func sortedDeps(d *stageState) []*stageState {
	deps := make([]*stageState, 0, len(d.deps))
	for dep := range d.deps {
		deps = append(deps, dep)
	}
	slices.SortFunc(deps, func(a, b *stageState) int { return a.index - b.index })
	return deps
}

// reachableFrom is the target and every stage it needs.
func reachableFrom(d *stageState, seen map[*stageState]bool) map[*stageState]bool {
	if seen == nil {
		seen = map[*stageState]bool{}
	}
	if seen[d] {
		return seen
	}
	seen[d] = true
	if d.base != nil {
		reachableFrom(d.base, seen)
	}
	for dep := range d.deps {
		reachableFrom(dep, seen)
	}
	return seen
}

// init starts a stage from the stage it builds on.
func (d *stageState) init() {
	if d.base == nil {
		return
	}
	b := d.base
	d.env = b.env.clone()
	d.platform = b.platform
	d.image = cloneImage(b.image)
	d.image.Config.OnBuild = nil
	d.known = b.known
	d.workdir = b.workdir
	d.args = append(d.args, b.args...)
}

func cloneImage(img dockerspec.DockerOCIImage) dockerspec.DockerOCIImage {
	img.Config.Env = slices.Clone(img.Config.Env)
	img.Config.Shell = slices.Clone(img.Config.Shell)
	img.Config.OnBuild = slices.Clone(img.Config.OnBuild)
	return img
}

// emptyImage is the config of scratch.
func emptyImage(p ocispecs.Platform) dockerspec.DockerOCIImage {
	var img dockerspec.DockerOCIImage
	img.Platform = p
	img.Config.WorkingDir = "/"
	if p.OS != "windows" {
		img.Config.Env = []string{"PATH=" + system.DefaultPathEnv(p.OS)}
	}
	return img
}
