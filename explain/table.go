package explain

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kiln-build/kiln/progress"
)

// WriteTable writes the report for a terminal: the image, its stages
// (built against shipped), its layers with their largest paths, and the
// warnings.
func (r *Report) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	r.writeHeader(bw)
	if len(r.Stages) > 0 {
		fmt.Fprintln(bw)
		r.writeStages(bw)
	}
	fmt.Fprintln(bw)
	r.writeLayers(bw)
	if len(r.Attestations) > 0 {
		fmt.Fprintln(bw)
		r.writeAttestations(bw)
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintln(bw)
		WriteWarnings(bw, r.Warnings)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "note: %s\n", n)
	}
	return bw.Flush()
}

func (r *Report) writeHeader(w io.Writer) {
	fmt.Fprintf(w, "%s  %s  %s\n", r.Image, short(r.Digest), r.Platform)
	plural := "s"
	if len(r.Layers) == 1 {
		plural = ""
	}
	fmt.Fprintf(w, "%s in %d layer%s (%s compressed)", progress.Size(r.Bytes), len(r.Layers), plural, progress.Size(r.Size))
	if r.Record {
		fmt.Fprintf(w, ", built from %s, target %s", r.Dockerfile, r.Target)
	} else {
		fmt.Fprint(w, ", no build record: layers explained by their history")
	}
	fmt.Fprintln(w)
}

func short(d string) string {
	if len(d) > 19 {
		return d[:19]
	}
	return d
}

func (r *Report) writeStages(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tFROM\tBUILT\tSHIPPED")
	for _, s := range r.Stages {
		name, from := s.Name, s.Base
		switch {
		case s.Target:
			name += " (target)"
		case s.Kind == KindBaseImage:
			name, from = "base image", s.Name
		case s.Kind == KindImage:
			name, from = "image", s.Name
		}
		shipped := progress.Size(s.Shipped)
		switch {
		case s.Kind != KindStage || s.Target:
		case s.Shipped > s.Built:
			shipped += " (with files of its base " + s.Base + ")"
		case s.Built > 0:
			shipped += fmt.Sprintf(" (%s)", percent(s.Shipped, s.Built))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, from, progress.Size(s.Built), shipped)
	}
	tw.Flush()
}

func percent(part, whole int64) string {
	p := 100 * float64(part) / float64(whole)
	switch {
	case p > 0 && p < 0.1:
		return "<0.1%"
	case p < 10:
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.0f%%", p)
}

func (r *Report) writeLayers(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LAYER\tFROM\tSIZE\tCOMPRESSED\tMADE BY")
	for _, L := range r.Layers {
		size := progress.Size(L.Bytes)
		if !L.Read {
			size = "?"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", L.Index, L.Origin, size, progress.Size(L.Size), madeBy(L))
		for _, p := range L.TopPaths {
			fmt.Fprintf(tw, "\t\t%s\t\t  %s\n", progress.Size(p.Bytes), p.Path)
		}
	}
	tw.Flush()
}

// writeAttestations writes a line per attestation attached to the image.
func (r *Report) writeAttestations(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ATTESTATION\tPREDICATE\tSIZE\tSAYS")
	for _, a := range r.Attestations {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Type, a.PredicateType, progress.Size(a.Size), a.Summary)
	}
	tw.Flush()
}

// madeBy is the layer's instruction with its stage and line, or its
// history text.
func madeBy(L Layer) string {
	switch {
	case L.BaseImage != "":
		return "base image " + L.BaseImage + oneLine(L.CreatedBy, "  ")
	case L.Instruction != "":
		s := L.Instruction + "  [" + L.Stage
		if L.Line > 0 {
			s += fmt.Sprintf(", line %d", L.Line)
		}
		return s + "]"
	}
	return oneLine(L.CreatedBy, "")
}

func oneLine(s, prefix string) string {
	if s == "" {
		return ""
	}
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return prefix + s
}

// WriteWarnings writes warnings the way a build prints them: one line
// each with the rule, the Dockerfile line and the message, then the paths
// and the fix.
func WriteWarnings(w io.Writer, ws []Warning) error {
	bw := bufio.NewWriter(w)
	for _, x := range ws {
		loc := ""
		switch {
		case x.File != "" && x.Line > 0:
			loc = fmt.Sprintf(" (%s:%d)", x.File, x.Line)
		case x.Line > 0:
			loc = fmt.Sprintf(" (line %d)", x.Line)
		}
		if x.Platform != "" {
			loc = " [" + x.Platform + "]" + loc
		}
		fmt.Fprintf(bw, "WARNING %s%s: %s\n", x.Rule, loc, x.Message)
		if len(x.Paths) > 0 {
			paths := x.Paths
			more := ""
			if len(paths) > 5 {
				paths, more = paths[:5], fmt.Sprintf(" and %d more", len(x.Paths)-5)
			}
			fmt.Fprintf(bw, "  paths: %s%s (%s, layer %d)\n", strings.Join(paths, " "), more, progress.Size(x.Bytes), x.Layer)
		}
		fmt.Fprintf(bw, "  fix: %s\n", x.Fix)
	}
	return bw.Flush()
}
