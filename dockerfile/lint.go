package dockerfile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/moby/patternmatcher"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Lint runs BuildKit's Dockerfile checks (the rules of `docker build
// --check`, listed by LintRules) on f and returns what they found.
//
// It follows BuildKit's dockerfile2llb step by step without building
// anything: the parse-time rules, then the stage rules, then each
// instruction of each stage, with the variables each one sees. The
// "# check=skip=…;error=…;experimental=…" directive (or the
// BUILDKIT_DOCKERFILE_CHECK build arg, which replaces it) and per-instruction
// "# check=" comments apply as in BuildKit.
//
// By default Lint checks like `--check` does: every stage when no target is
// given, else the stages the target needs. ForBuild makes it report what a
// build of the target reports instead.
//
// Problems that would stop a BuildKit build (a blank base name, a bad
// --platform, a base image that cannot be resolved) end the check: the
// result carries the warnings found so far and the error in Err, as
// BuildKit's check result does. The returned error is only for bad options
// and a cancelled ctx.
//
// Lint reads f.Source (f must come from Parse) and does not change f. It
// costs about a millisecond for a long Dockerfile, plus the calls to the
// WithBaseImages function (one per stage built on an image).
//
// Example, the way `kiln build --check` uses it:
//
//	res, err := dockerfile.Lint(ctx, f,
//		dockerfile.WithBuildArgs(args), dockerfile.WithTarget(target),
//		dockerfile.WithBaseImages(resolveConfig), dockerfile.WithIgnorePatterns(ignore))
//	if err != nil {
//		return err
//	}
//	res.PrintTo(out) // the warnings, with source excerpts
//	if res.Err != nil {
//		return res.Err // "# check=error=true", or the Dockerfile cannot build
//	}
func Lint(ctx context.Context, f *File, opts ...LintOption) (*LintResult, error) {
	o, err := makeLintOptions(opts)
	if err != nil {
		return nil, err
	}
	c := newChecker(f, o)
	err = c.run(ctx)
	if cerr := ctx.Err(); cerr != nil {
		return nil, cerr
	}
	if err == nil {
		err = c.violation()
	}
	return &LintResult{File: f.Name, Warnings: c.warnings, Err: err, source: f.Source}, nil
}

// BaseImageFunc returns the config of the image a FROM (or COPY --from,
// RUN --mount from=) names, for the platform the stage builds for. ref is
// the name as the Dockerfile gives it, after ARG expansion ("busybox",
// "127.0.0.1:5000/x/y:1"). It is how BuildKit's image metadata resolver is
// asked; the env, shell and ONBUILD triggers of the config feed the checks.
type BaseImageFunc func(ctx context.Context, ref string, platform ocispecs.Platform) (*dockerspec.DockerOCIImage, error)

// LintOption configures Lint.
type LintOption func(*lintOptions) error

type lintOptions struct {
	buildArgs map[string]string
	target    string
	baseImage BaseImageFunc
	ignore    *patternmatcher.PatternMatcher
	forBuild  bool
}

// WithBuildArgs sets the build args (--build-arg) the check sees.
func WithBuildArgs(args map[string]string) LintOption {
	return func(o *lintOptions) error {
		o.buildArgs = maps.Clone(args)
		return nil
	}
}

// WithTarget sets the target stage (--target).
func WithTarget(stage string) LintOption {
	return func(o *lintOptions) error {
		o.target = stage
		return nil
	}
}

// WithBaseImages lets the check read base image configs. Without it, the
// checks that need one are skipped: UndefinedVar in stages built on an
// image (whose ENV is unknown), InvalidBaseImagePlatform, and the image's
// ONBUILD triggers. Stages on scratch or on other stages are fully checked.
func WithBaseImages(fn BaseImageFunc) LintOption {
	return func(o *lintOptions) error {
		o.baseImage = fn
		return nil
	}
}

// WithIgnorePatterns gives the .dockerignore patterns of the build context
// (as buildcontext.LoadIgnore returns them), for CopyIgnoredFile.
func WithIgnorePatterns(patterns []string) LintOption {
	return func(o *lintOptions) error {
		if len(patterns) == 0 {
			o.ignore = nil
			return nil
		}
		pm, err := patternmatcher.New(patterns)
		if err != nil {
			return fmt.Errorf("reading .dockerignore patterns: %w", err)
		}
		o.ignore = pm
		return nil
	}
}

// ForBuild makes Lint report what BuildKit reports during a build of the
// target: the checks of the stages the target does not need are skipped even
// when no target is set.
func ForBuild() LintOption {
	return func(o *lintOptions) error {
		o.forBuild = true
		return nil
	}
}

func makeLintOptions(opts []LintOption) (*lintOptions, error) {
	o := &lintOptions{}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.buildArgs == nil {
		o.buildArgs = map[string]string{}
	}
	return o, nil
}

// LintResult is what a check found.
type LintResult struct {
	File     string        // the Dockerfile's name
	Warnings []LintWarning // in the order BuildKit finds them
	// Err is set when the check fails besides its warnings: a
	// *ViolationError when "# check=error=true" is set and a rule fired
	// (a build fails with it too), or the *Error that stopped the check.
	Err error

	source []byte
}

// LintWarning is one finding of a rule.
type LintWarning struct {
	Rule        string // "JSONArgsRecommended"
	Description string // the rule's description
	URL         string // the rule's documentation ("" for InvalidBaseImagePlatform)
	Message     string // "JSON arguments recommended for CMD to prevent …"
	// StartLine and EndLine are the Dockerfile lines the warning points at
	// (0 when it has no location), Location the ranges BuildKit reports.
	StartLine, EndLine int
	Location           []parser.Range
}

// String is the warning as BuildKit's progress and buildx's summary show it:
// "JSONArgsRecommended: JSON arguments recommended … (line 2)".
func (w LintWarning) String() string {
	s := w.Rule + ": " + w.Message
	if w.StartLine > 0 {
		s += fmt.Sprintf(" (line %d)", w.StartLine)
	}
	return s
}

// ErrLintViolation is what a *ViolationError matches with errors.Is.
var ErrLintViolation = errors.New("dockerfile: lint violation")

// ViolationError fails a check (and a build) of a Dockerfile with
// "# check=error=true" when rules fired.
type ViolationError struct {
	Rules []string // the rules that fired, sorted
}

func (e *ViolationError) Error() string {
	return "lint violation found for rules: " + strings.Join(e.Rules, ", ")
}

// Is makes errors.Is(err, ErrLintViolation) true.
func (e *ViolationError) Is(target error) bool { return target == ErrLintViolation }
