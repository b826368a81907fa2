package dockerfile

// The checks of the stages themselves: names, instruction casing, and the
// FROM line with its ARGs and --platform (dockerfile2llb's validations.go and
// buildDispatchStates).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/util/suggest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// checkStageNames: ReservedStageName, DuplicateStageName.
func (c *checker) checkStageNames(stages []instructions.Stage) {
	seen := map[string]bool{}
	for _, st := range stages {
		if st.Name == "" {
			continue
		}
		if st.Name == "context" || st.Name == "scratch" {
			c.lint.Run(&linter.RuleReservedStageName, st.Location, linter.RuleReservedStageName.Format(st.Name))
		}
		if seen[st.Name] {
			c.lint.Run(&linter.RuleDuplicateStageName, st.Location, linter.RuleDuplicateStageName.Format(st.Name))
		}
		seen[st.Name] = true
	}
}

// checkCasing: ConsistentInstructionCasing, against the majority casing.
func (c *checker) checkCasing(stages []instructions.Stage) {
	var lower, upper int
	count := func(name string) {
		switch name {
		case strings.ToLower(name):
			lower++
		case strings.ToUpper(name):
			upper++
		}
	}
	for _, st := range stages {
		count(st.OrigCmd)
		for _, cmd := range st.Commands {
			count(cmd.Name())
		}
	}
	check := func(name string, loc []parser.Range) {
		want := ""
		if lower > upper && strings.ToLower(name) != name {
			want = "lowercase"
		} else if lower <= upper && strings.ToUpper(name) != name {
			want = "uppercase"
		}
		if want != "" {
			c.lint.Run(&linter.RuleConsistentInstructionCasing, loc, linter.RuleConsistentInstructionCasing.Format(name, want))
		}
	}
	for _, st := range stages {
		check(st.OrigCmd, st.Location)
		for _, cmd := range st.Commands {
			check(cmd.Name(), cmd.Location())
		}
	}
}

// setGlobalArgs sets the automatic ARGs and those before the first FROM,
// after checking (InvalidDefaultArgInFrom) that their defaults alone make
// valid base image names.
func (c *checker) setGlobalArgs(stages []instructions.Stage, metaArgs []instructions.ArgCommand) error {
	target := c.opts.target
	if target == "" {
		target = stages[len(stages)-1].Name
	}
	defaults := c.defaultArgs(target)
	if args, err := c.metaArgEnv(defaults.clone(), metaArgs, nil); err == nil {
		for _, st := range stages {
			res, err := c.shlex.ProcessWordWithMatches(st.BaseName, args)
			if err != nil {
				break
			}
			if validateImageRef(res.Result) != nil {
				c.lint.Run(&linter.RuleInvalidDefaultArgInFrom, st.Location, linter.RuleInvalidDefaultArgInFrom.Format(st.BaseName))
			}
		}
	}
	args, err := c.metaArgEnv(defaults, metaArgs, c.opts.buildArgs)
	if err != nil {
		return err
	}
	c.globalArgs = args
	c.metaArgs = map[string]bool{}
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			c.metaArgs[kv.Key] = true
		}
	}
	return nil
}

// defaultArgs are the ARGs BuildKit defines for every build.
func (c *checker) defaultArgs(target string) *lintEnv {
	if target == "" {
		target = "default"
	}
	bp, tp := hostPlatform(), c.target
	env := newLintEnv()
	for _, kv := range [...][2]string{
		{"BUILDPLATFORM", formatPlatform(bp)}, {"BUILDOS", bp.OS}, {"BUILDOSVERSION", bp.OSVersion},
		{"BUILDARCH", bp.Architecture}, {"BUILDVARIANT", bp.Variant},
		{"TARGETPLATFORM", formatPlatformAll(tp)}, {"TARGETOS", tp.OS}, {"TARGETOSVERSION", tp.OSVersion},
		{"TARGETARCH", tp.Architecture}, {"TARGETVARIANT", tp.Variant}, {"TARGETSTAGE", target},
	} {
		v := kv[1]
		if ov, ok := c.opts.buildArgs[kv[0]]; ok {
			v = ov
		}
		env.set(kv[0], v)
	}
	return env
}

// metaArgEnv adds the ARGs before the first FROM to env, with their
// build-arg values or expanded defaults.
func (c *checker) metaArgEnv(env *lintEnv, metaArgs []instructions.ArgCommand, buildArgs map[string]string) (*lintEnv, error) {
	for _, cmd := range metaArgs {
		for _, kv := range cmd.Args {
			if v, ok := buildArgs[kv.Key]; ok {
				env.set(kv.Key, v)
				continue
			}
			if kv.Value == nil {
				continue
			}
			res, err := c.shlex.ProcessWordWithMatches(*kv.Value, env)
			if err != nil {
				return nil, c.errAt(cmd.Location(), err)
			}
			env.set(kv.Key, res.Result)
		}
	}
	return env, nil
}

// addStages expands each FROM: UndefinedArgInFrom, RedundantTargetPlatform,
// FromPlatformFlagConstDisallowed; a blank base name or a bad platform stops
// the check.
func (c *checker) addStages(stages []instructions.Stage) error {
	for i, st := range stages {
		lint := c.lint.WithMergedConfigFromComments(st.Comments)
		res, err := c.shlex.ProcessWordWithMatches(st.BaseName, c.globalArgs)
		c.checkFromArgs(res.Unmatched, st.Location, lint)
		if err != nil {
			return c.errAt(st.Location, err)
		}
		if res.Result == "" {
			return c.errAt(st.Location, fmt.Errorf("base name (%s) should not be blank", st.BaseName))
		}
		st.BaseName = res.Result
		d := &stageState{stage: st, name: st.Name, index: i}
		if st.Platform != "" {
			p, err := c.stagePlatform(st, lint)
			if err != nil {
				return err
			}
			d.platform = &p
		}
		if st.Name == "" {
			d.name = fmt.Sprintf("stage-%d", i)
		}
		c.addState(d)
	}
	return nil
}

// stagePlatform expands and parses FROM --platform.
func (c *checker) stagePlatform(st instructions.Stage, lint *linter.Linter) (p0 ocispecs.Platform, _ error) {
	res, err := c.shlex.ProcessWordWithMatches(st.Platform, c.globalArgs)
	c.checkFromArgs(res.Unmatched, st.Location, lint)
	if len(res.Matched) == 1 && len(res.Unmatched) == 0 {
		if _, ok := res.Matched["TARGETPLATFORM"]; ok {
			if v, _ := c.globalArgs.Get("TARGETPLATFORM"); v == res.Result {
				lint.Run(&linter.RuleRedundantTargetPlatform, st.Location, linter.RuleRedundantTargetPlatform.Format(st.Platform))
			}
		}
	}
	if len(res.Matched) == 0 && len(res.Unmatched) == 0 {
		if p, err := parsePlatform(res.Result); err == nil &&
			!strings.Contains(st.Name, p.OS) && !strings.Contains(st.Name, p.Architecture) {
			lint.Run(&linter.RuleFromPlatformFlagConstDisallowed, st.Location, linter.RuleFromPlatformFlagConstDisallowed.Format(res.Result))
		}
	}
	if err != nil {
		return p0, c.errAt(st.Location, fmt.Errorf("failed to process arguments for platform %s: %w", res.Result, err))
	}
	if res.Result == "" {
		err := c.suggestArg(fmt.Errorf("empty platform value from expression %s", st.Platform), res.Unmatched)
		return p0, c.errAt(st.Location, err)
	}
	p, err := parsePlatform(res.Result)
	if err != nil {
		err = c.suggestArg(err, res.Unmatched)
		return p0, c.errAt(st.Location, fmt.Errorf("failed to parse platform %s: %w", st.Platform, err))
	}
	return p, nil
}

// suggestArg adds "(did you mean …?)" to err for the first unmatched
// variable that is close to a defined one.
func (c *checker) suggestArg(err error, unmatched map[string]struct{}) error {
	for _, k := range sortedKeys(unmatched) {
		if m, ok := suggest.Search(k, c.globalArgs.Keys(), true); ok {
			return fmt.Errorf("%w (did you mean %s?)", err, m)
		}
	}
	return err
}

// checkFromArgs: UndefinedArgInFrom for the variables a FROM uses that no
// ARG before the first FROM declares (nor BuildKit defines).
func (c *checker) checkFromArgs(unmatched map[string]struct{}, loc []parser.Range, lint *linter.Linter) {
	if len(unmatched) == 0 {
		return
	}
	declared := slices.Collect(func(yield func(string) bool) {
		for k := range c.metaArgs {
			if !yield(k) {
				return
			}
		}
		for _, k := range c.globalArgs.Keys() {
			if !c.metaArgs[k] && !yield(k) {
				return
			}
		}
	})
	slices.Sort(declared)
	for _, arg := range sortedKeys(unmatched) {
		if slices.Contains(declared, arg) {
			continue
		}
		match, _ := suggest.Search(arg, declared, true)
		lint.Run(&linter.RuleUndefinedArgInFrom, loc, linter.RuleUndefinedArgInFrom.Format(arg, match))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
