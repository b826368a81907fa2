package explain

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/kiln-build/kiln/progress"
)

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"size":    progress.Size,
	"madeBy":  madeBy,
	"percent": percent,
	"f":       func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"bar": func(part, whole int64) string {
		if whole <= 0 {
			return "0"
		}
		return fmt.Sprintf("%.1f", min(100, 100*float64(part)/float64(whole)))
	},
	"join": strings.Join,
}).Parse(pageHTML))

// htmlBox is a treemap box as the page draws it.
type htmlBox struct {
	box
	Index, Parent int
	Text          string // the label cut to fit
	TextY         float64
}

type htmlData struct {
	R             *Report
	Boxes         []htmlBox
	Width, Height int
}

// WriteHTML writes the report as one self-contained page (inline CSS,
// SVG and a few lines of script; nothing is fetched): a treemap of the
// image by origin → instruction → directory, the stages, the layers and
// the warnings.
func (r *Report) WriteHTML(w io.Writer) error {
	d := htmlData{R: r, Width: mapWidth, Height: mapHeight}
	boxes := layoutImage(r.treemapNodes())
	var stack []int // the open groups, by depth
	for i, b := range boxes {
		for len(stack) > b.Depth {
			stack = stack[:len(stack)-1]
		}
		hb := htmlBox{box: b, Index: i, Parent: -1}
		if len(stack) > 0 {
			hb.Parent = stack[len(stack)-1]
		}
		if b.Group {
			stack = append(stack, i)
		}
		hb.Text, hb.TextY = fitLabel(b)
		d.Boxes = append(d.Boxes, hb)
	}
	if err := page.Execute(w, d); err != nil {
		return fmt.Errorf("explain: writing HTML: %w", err)
	}
	return nil
}

// fitLabel cuts a box's label to its width (11px text is about 6.2px a
// character) and places it in the box's header or middle.
func fitLabel(b box) (string, float64) {
	if b.H < 13 || b.W < 24 {
		return "", 0
	}
	n := int((b.W - 6) / 6.2)
	label := []rune(b.Label)
	if len(label) > n {
		if n < 3 {
			return "", 0
		}
		label = append(label[:n-1], '…')
	}
	y := b.Y + 11
	if !b.Group && b.H > 26 {
		y = b.Y + b.H/2 + 4
	}
	return string(label), y
}
