package dockerfile

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// PrintTo writes the warnings as BuildKit's check report does (what
// `buildctl … --opt requestid=frontend.lint` prints, and the body of `docker
// build --check`): by line, each with its rule, URL, message and the lines
// of the Dockerfile around it.
func (r *LintResult) PrintTo(w io.Writer) error {
	ws := slices.Clone(r.Warnings)
	slices.SortStableFunc(ws, func(a, b LintWarning) int {
		switch {
		case len(a.Location) == 0 && len(b.Location) == 0:
			return strings.Compare(a.Rule, b.Rule)
		case len(a.Location) == 0:
			return -1
		case len(b.Location) == 0:
			return 1
		}
		return a.Location[0].Start.Line - b.Location[0].Start.Line
	})
	for _, wa := range ws {
		head := "\nWARNING: " + wa.Rule
		if wa.URL != "" {
			head += " - " + wa.URL
		}
		if _, err := fmt.Fprintf(w, "%s\n%s\n", head, wa.Message); err != nil {
			return err
		}
		if err := printSource(w, r.File, r.source, wa.Location); err != nil {
			return err
		}
	}
	return nil
}

// PrintErrorTo writes Err as buildx shows a failed check: the message, then
// the Dockerfile lines where it is. It writes nothing when Err is nil.
func (r *LintResult) PrintErrorTo(w io.Writer) error {
	if r.Err == nil {
		return nil
	}
	msg, line := r.Err.Error(), 0
	var de *Error
	if errors.As(r.Err, &de) {
		msg, line = de.Err.Error(), de.Line
	}
	if _, err := fmt.Fprintln(w, msg); err != nil {
		return err
	}
	if line == 0 {
		return nil
	}
	return printSource(w, r.File, r.source, []parser.Range{{Start: parser.Position{Line: line}, End: parser.Position{Line: line}}})
}

// printSource prints the lines of loc with some context, marked ">>>", as
// BuildKit's errdefs.Source.Print does.
func printSource(w io.Writer, name string, src []byte, loc []parser.Range) error {
	if len(loc) == 0 {
		return nil
	}
	lines := strings.Split(string(src), "\n")
	start, end := lineSpan(loc)
	if start > len(lines) || start < 1 {
		return nil
	}
	end = min(end, len(lines))
	pad := 2
	if end == start {
		pad = 4
	}
	first := start
	for p := 0; p < pad; p++ {
		if start > 1 {
			start--
			p++
		}
		if end != len(lines) {
			end++
			p++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s:%d\n--------------------\n", name, first)
	for i := start; i <= end; i++ {
		mark := "   "
		if inRanges(loc, i) {
			mark = ">>>"
		}
		fmt.Fprintf(&b, " %3d | %s %s\n", i, mark, lines[i-1])
	}
	b.WriteString("--------------------\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func inRanges(loc []parser.Range, line int) bool {
	for _, r := range loc {
		if r.Start.Line <= line && max(r.End.Line, r.Start.Line) >= line {
			return true
		}
	}
	return false
}
