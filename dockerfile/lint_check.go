package dockerfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// checkArg is the build arg that replaces the "# check=" directive.
const checkArg = "BUILDKIT_DOCKERFILE_CHECK"

// checker is one run of Lint: BuildKit's toDispatchState without the LLB.
type checker struct {
	file     *File
	opts     *lintOptions
	lint     *linter.Linter
	warnings []LintWarning

	shlex      *Lex
	target     ocispecs.Platform // the platform stages build for
	globalArgs *lintEnv          // the ARGs before the first FROM, and the automatic ones
	metaArgs   map[string]bool   // keys declared by ARGs before the first FROM
	allStages  bool              // dispatch every stage, not only the target's

	states []*stageState
	byName map[string]*stageState
}

func newChecker(f *File, o *lintOptions) *checker {
	return &checker{file: f, opts: o, target: hostPlatform(), byName: map[string]*stageState{}}
}

// run follows dockerfile2llb's toDispatchState.
func (c *checker) run(ctx context.Context) error {
	if err := c.newLinter(); err != nil {
		return err
	}
	res, err := parser.Parse(bytes.NewReader(c.file.Source))
	if err != nil {
		return &Error{File: c.file.Name, Line: errorLine(err), Err: cleanErr(err)}
	}
	for _, w := range res.Warnings {
		if w.URL == linter.RuleNoEmptyContinuation.URL && w.Location != nil {
			c.lint.Run(&linter.RuleNoEmptyContinuation, []parser.Range{*w.Location}, linter.RuleNoEmptyContinuation.Format())
		}
	}
	stages, metaArgs, err := instructions.Parse(res.AST, c.lint)
	if err != nil {
		return &Error{File: c.file.Name, Line: errorLine(err), Err: cleanErr(err)}
	}
	if len(stages) == 0 {
		return &Error{File: c.file.Name, Err: errors.New("dockerfile contains no stages to build")}
	}
	c.checkStageNames(stages)
	c.checkCasing(stages)
	c.shlex = NewLex(res.EscapeToken)
	c.allStages = !c.opts.forBuild && c.opts.target == ""

	if err := c.setGlobalArgs(stages, metaArgs); err != nil {
		return err
	}
	if err := c.addStages(stages); err != nil {
		return err
	}
	target, err := c.resolveTarget()
	if err != nil {
		return err
	}
	if err := c.buildGraph(); err != nil {
		return err
	}
	reachable, err := c.resolveStages(ctx, target)
	if err != nil {
		return err
	}
	return c.dispatchStages(reachable)
}

// newLinter reads the check configuration: the BUILDKIT_DOCKERFILE_CHECK
// build arg, else the "# check=" directive.
func (c *checker) newLinter() error {
	var (
		cfg *linter.Config
		err error
	)
	if v, ok := c.opts.buildArgs[checkArg]; ok {
		if cfg, err = linter.ParseLintOptions(v); err != nil {
			return &Error{File: c.file.Name, Err: fmt.Errorf("failed to parse build-arg:%s: %s", checkArg, err)}
		}
	} else {
		v, _, _, _ := parser.ParseDirective("check", c.file.Source)
		if cfg, err = linter.ParseLintOptions(v); err != nil {
			return &Error{File: c.file.Name, Err: fmt.Errorf("failed to parse check options: %s", err)}
		}
	}
	cfg.Warn = c.warn
	c.lint = linter.New(cfg)
	return nil
}

func (c *checker) warn(rule, description, url, msg string, loc []parser.Range) {
	w := LintWarning{Rule: rule, Description: description, URL: url, Message: msg, Location: slices.Clone(loc)}
	w.StartLine, w.EndLine = lineSpan(loc)
	c.warnings = append(c.warnings, w)
}

// violation is the error "# check=error=true" makes of the warnings.
func (c *checker) violation() error {
	if !c.lint.ReturnAsError || len(*c.lint.CalledRules) == 0 {
		return nil
	}
	rules := slices.Clone(*c.lint.CalledRules)
	slices.Sort(rules)
	return &ViolationError{Rules: slices.Compact(rules)}
}

// errAt makes err a Dockerfile error at loc.
func (c *checker) errAt(loc []parser.Range, err error) error {
	var de *Error
	if errors.As(err, &de) {
		return err
	}
	return &Error{File: c.file.Name, Line: StartLine(loc), Err: err}
}

// lineSpan is the first and last line of loc, as BuildKit prints them.
func lineSpan(loc []parser.Range) (start, end int) {
	for i, r := range loc {
		e := max(r.End.Line, r.Start.Line)
		if i == 0 || r.Start.Line < start {
			start = r.Start.Line
		}
		end = max(end, e)
	}
	return start, end
}
