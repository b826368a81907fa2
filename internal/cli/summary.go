package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kiln-build/kiln/explain"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/solver"
)

// writeSummary prints what each stage cost and what reached the final
// image from where: the builder stages' work, and the layers that cross
// into the target (their size and the stage they were copied from).
func writeSummary(w io.Writer, s solver.Summary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tTIME\tSTEPS\tCACHED")
	for _, st := range s.Stages {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", st.Name, st.Time.Round(time.Millisecond), st.Steps, st.Cached)
	}
	for _, name := range s.Skipped {
		fmt.Fprintf(tw, "%s\tskipped\t\t\n", name)
	}
	tw.Flush()
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if s.Platform != "" {
		fmt.Fprintf(tw, "IMAGE (stage %s, %s)\tSIZE\tFROM\n", s.Target, s.Platform)
	} else {
		fmt.Fprintf(tw, "IMAGE (stage %s)\tSIZE\tFROM\n", s.Target)
	}
	var total int64
	for _, l := range s.Layers {
		txt := l.CreatedBy
		if len(txt) > 60 {
			txt = txt[:57] + "..."
		}
		size := "?"
		if l.Size >= 0 {
			size = progress.Size(l.Size)
			total += l.Size
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", txt, size, l.From)
	}
	fmt.Fprintf(tw, "%d new layers on %d base layers\t%s\t\n", len(s.Layers), s.Base, progress.Size(total))
	tw.Flush()
	for _, a := range s.AutoCaches {
		fmt.Fprintf(w, "auto cache: %s: %s (--no-auto-cache turns it off)\n", a.Stage, strings.Join(a.Paths, ", "))
	}
}

// writeWarnings prints the Dockerfile checks' warnings after a build, as
// buildx does.
func writeWarnings(w io.Writer, ws []solver.LintWarning) {
	if len(ws) == 0 {
		return
	}
	noun := "warnings"
	if len(ws) == 1 {
		noun = "warning"
	}
	fmt.Fprintf(w, "\n %d %s found (kiln build --check shows more):\n", len(ws), noun)
	for _, x := range ws {
		fmt.Fprintf(w, " - %s\n", x.String())
	}
}

// writeLeaks prints the leak warnings after a build: what crossed a stage
// boundary that a final image should not carry.
func writeLeaks(w io.Writer, ws []explain.Warning) {
	if len(ws) == 0 {
		return
	}
	fmt.Fprintf(w, "\n %d leak %s (kiln explain --last shows the whole image):\n", len(ws), plural(len(ws), "warning", "warnings"))
	explain.WriteWarnings(w, ws)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
