package dockerfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// File is a parsed Dockerfile.
type File struct {
	Name        string // the Dockerfile's name, for messages
	Stages      []instructions.Stage
	MetaArgs    []instructions.ArgCommand // ARGs before the first FROM
	EscapeToken rune
	Syntax      string // the "# syntax=" directive, if any
	// Warnings are what parsing noticed: empty continuation lines and the
	// lint rules BuildKit runs while parsing instructions, without "# check="
	// directives. Lint finds all the warnings a BuildKit build prints.
	Warnings []Warning
	Source   []byte
	// nodes are the Dockerfile lines the stages' commands were parsed from
	nodes map[instructions.Command]*parser.Node
}

// quiet is a linter that reports nothing.
var quiet = linter.New(&linter.Config{Warn: func(string, string, string, string, []parser.Range) {}})

// Fresh returns cmds parsed again from their Dockerfile lines (a command
// Parse did not make is returned as is). Expanding a command rewrites it
// in place, so a build that runs a stage more than once — once per
// platform, or again without automatic caches — expands fresh copies.
func (f *File) Fresh(cmds []instructions.Command) ([]instructions.Command, error) {
	out := make([]instructions.Command, len(cmds))
	for i, c := range cmds {
		n, ok := f.nodes[c]
		if !ok {
			out[i] = c
			continue
		}
		// the lint rules ran when the file was parsed; BuildKit's parser
		// needs a linter all the same
		v, err := instructions.ParseInstructionWithLinter(n, quiet)
		fc, ok := v.(instructions.Command)
		if err == nil && !ok {
			err = fmt.Errorf("%T is not a command", v)
		}
		if err != nil {
			return nil, &Error{File: f.Name, Line: n.StartLine, Err: cleanErr(err)}
		}
		out[i] = fc
	}
	return out, nil
}

// Warning is a non-fatal finding, with its line.
type Warning struct {
	Line    int
	Message string
}

func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("line %d: %s", w.Line, w.Message)
	}
	return w.Message
}

// Error is a Dockerfile error at a line.
type Error struct {
	File string
	Line int // 0 when unknown
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an Error for the command at loc.
func Errorf(file string, loc []parser.Range, format string, args ...any) error {
	return &Error{File: file, Line: StartLine(loc), Err: fmt.Errorf(format, args...)}
}

// StartLine is the first line of a command location (0 if none).
func StartLine(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// Parse parses a Dockerfile. name is used in messages (usually "Dockerfile").
func Parse(name string, r io.Reader) (*File, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		return nil, &Error{File: name, Line: errorLine(err), Err: cleanErr(err)}
	}
	f := &File{Name: name, EscapeToken: res.EscapeToken, Source: src}
	f.Syntax, _, _, _ = parser.DetectSyntax(src)
	for _, w := range res.Warnings {
		line := 0
		if w.Location != nil {
			line = w.Location.Start.Line
		}
		f.Warnings = append(f.Warnings, Warning{Line: line, Message: w.Short})
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		f.Warnings = append(f.Warnings, Warning{Line: StartLine(loc), Message: msg})
	}})
	for _, n := range res.AST.Children {
		cmd, err := instructions.ParseInstructionWithLinter(n, lint)
		if err != nil {
			return nil, &Error{File: name, Line: n.StartLine, Err: cleanErr(err)}
		}
		if len(f.Stages) == 0 {
			if a, ok := cmd.(*instructions.ArgCommand); ok {
				f.MetaArgs = append(f.MetaArgs, *a)
				continue
			}
		}
		switch c := cmd.(type) {
		case *instructions.Stage:
			f.Stages = append(f.Stages, *c)
		case instructions.Command:
			if len(f.Stages) == 0 {
				return nil, &Error{File: name, Line: n.StartLine,
					Err: fmt.Errorf("%s instruction before the first FROM (only ARG may come before FROM)", strings.ToUpper(c.Name()))}
			}
			s := &f.Stages[len(f.Stages)-1]
			s.AddCommand(c)
			if f.nodes == nil {
				f.nodes = map[instructions.Command]*parser.Node{}
			}
			f.nodes[c] = n
		}
	}
	if len(f.Stages) == 0 {
		return nil, &Error{File: name, Err: errors.New("no FROM instruction: the Dockerfile has no build stage")}
	}
	return f, nil
}

// errorLine digs the first line out of a BuildKit location error.
func errorLine(err error) int {
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, l := range le.Locations {
			if len(l) > 0 {
				return l[0].Start.Line
			}
		}
	}
	return 0
}

// cleanErr strips BuildKit's stack-carrying wrappers, keeping the message.
func cleanErr(err error) error {
	var le *parser.LocationError
	if errors.As(err, &le) && le.Unwrap() != nil {
		return errors.New(le.Unwrap().Error())
	}
	return errors.New(err.Error())
}
