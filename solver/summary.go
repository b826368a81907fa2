package solver

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kiln-build/kiln/progress"
)

// StageStats is what one stage cost.
type StageStats struct {
	Start, End    time.Time
	Steps, Cached int // steps that made a layer, and how many the cache answered
}

// Summary prints what each stage cost and what reached the final image
// from where: the builder stages' work, and the layers that cross into the
// target (their size and the stage they were copied from).
func (r *Result) Summary(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tTIME\tSTEPS\tCACHED")
	for _, ps := range r.Plan.Order {
		st := r.b.results[ps].stats
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", ps.Ref(), st.End.Sub(st.Start).Round(time.Millisecond), st.Steps, st.Cached)
	}
	for _, ps := range r.Plan.Skipped {
		fmt.Fprintf(tw, "%s\tskipped\t\t\n", ps.Ref())
	}
	tw.Flush()
	base := len(r.Image.Layers) - r.newLayers()
	var total int64
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "IMAGE (stage %s)\tSIZE\tFROM\n", r.Plan.Target.Ref())
	hist := r.layerHistory()
	for i, l := range r.Image.Layers[base:] {
		origin := l.Origin
		if origin == "" {
			origin = r.Plan.Target.Ref()
		}
		size := "?"
		if l.Size > 0 || l.Dir != "" {
			size = progress.Size(l.Size)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", hist[base+i], size, origin)
		total += l.Size
	}
	fmt.Fprintf(tw, "%d new layers on %d base layers\t%s\t\n", len(r.Image.Layers)-base, base, progress.Size(total))
	tw.Flush()
}

// newLayers counts the target's layers made by this Dockerfile's steps.
func (r *Result) newLayers() int {
	n := 0
	for _, l := range r.Image.Layers {
		if l.Key != "" {
			n++
		}
	}
	return n
}

// layerHistory lines up the image's layers with their created_by text.
func (r *Result) layerHistory() []string {
	var out []string
	for _, h := range r.Image.Config.History {
		if h.EmptyLayer {
			continue
		}
		txt := strings.TrimSuffix(h.CreatedBy, " # buildkit")
		if len(txt) > 60 {
			txt = txt[:57] + "..."
		}
		out = append(out, txt)
	}
	for len(out) < len(r.Image.Layers) {
		out = append([]string{"(base layer)"}, out...)
	}
	return out
}
