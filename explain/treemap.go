package explain

import (
	"fmt"
	"html/template"
	"math"
	"sort"

	"github.com/kiln-build/kiln/progress"
)

// The treemap of WriteHTML: the image's bytes by origin (stage or base
// image) → layer (instruction) → directory, laid out here as squarified
// rectangles (Bruls, Huizing, van Wijk) and drawn as inline SVG.

const (
	mapWidth  = 1160
	mapHeight = 620
	headerH   = 15 // a group's label strip
	minArea   = 12 // px²: smaller rectangles are not drawn
	maxDepth  = 9  // origin, layer and 7 levels of directories
)

// box is one rectangle of the treemap.
type box struct {
	X, Y, W, H float64
	Depth      int
	Color      template.CSS
	Label      string // shown when it fits
	Title      string // the tooltip: what it is and its size
	Group      bool   // has children drawn inside, below its label
	Leak       bool   // a path a warning names
}

// tmNode is a treemap node before layout.
type tmNode struct {
	label, title string
	bytes        int64
	hue          int
	leak         bool
	kids         []*tmNode
}

// treemapNodes builds the hierarchy of the report's bytes.
func (r *Report) treemapNodes() *tmNode {
	root := &tmNode{label: r.Image, bytes: r.Bytes}
	groups := make(map[string]*tmNode)
	var order []string
	for _, L := range r.Layers {
		if L.Bytes <= 0 {
			continue
		}
		origin := L.Origin
		if origin == "" {
			origin = r.Image
		}
		g := groups[origin]
		if g == nil {
			g = &tmNode{label: origin, hue: hueOf(len(order), r.originKind(origin))}
			groups[origin] = g
			order = append(order, origin)
		}
		g.bytes += L.Bytes
		ln := &tmNode{label: fmt.Sprintf("#%d %s", L.Index, layerLabel(L)), bytes: L.Bytes, hue: g.hue}
		ln.title = fmt.Sprintf("layer %d: %s\n%s", L.Index, layerLabel(L), progress.Size(L.Bytes))
		if L.tree != nil {
			ln.kids = dirNodes(L.tree, "", g.hue, r.leaks(L.Index), false)
		}
		g.kids = append(g.kids, ln)
	}
	for _, o := range order {
		g := groups[o]
		g.title = fmt.Sprintf("%s\n%s of %s", o, progress.Size(g.bytes), progress.Size(r.Bytes))
		if len(g.kids) == 1 { // one layer: one box says both
			l := g.kids[0]
			l.label, l.title = o+": "+l.label, o+": "+l.title
			g = l
		}
		root.kids = append(root.kids, g)
	}
	return root
}

func (r *Report) originKind(origin string) string {
	for _, s := range r.Stages {
		if s.Name == origin {
			return s.Kind
		}
	}
	return KindImage
}

// hueOf gives each origin its own color; base images are grey.
func hueOf(i int, kind string) int {
	if kind == KindBaseImage {
		return -1
	}
	hues := []int{210, 28, 140, 280, 0, 180, 55, 320}
	return hues[i%len(hues)]
}

func layerLabel(L Layer) string {
	switch {
	case L.Instruction != "":
		return L.Instruction
	case L.BaseImage != "":
		return "base image " + L.BaseImage
	case L.CreatedBy != "":
		return L.CreatedBy
	}
	return "layer"
}

// leaks lists the paths in layer i that content rules warn about.
func (r *Report) leaks(i int) []string {
	var out []string
	for _, w := range r.Warnings {
		switch w.Rule {
		case RuleWholeStageCopied, RuleContextCopiedWhole: // their paths are just the layer's largest
		default:
			if w.Layer == i {
				out = append(out, w.Paths...)
			}
		}
	}
	return out
}

// dirNodes turns a layer's directories into treemap nodes, a chain of
// directories with one child each into one node ("usr/local/go"). The
// topmost node inside a leak path is marked.
func dirNodes(d *treeDir, parent string, hue int, leaks []string, inLeak bool) []*tmNode {
	var out []*tmNode
	for _, k := range d.Kids {
		name := k.Name
		for len(k.Kids) == 1 && k.Kids[0].Name != "…" && k.Kids[0].Bytes == k.Bytes {
			k = k.Kids[0]
			name += "/" + k.Name
		}
		p := parent + "/" + name
		if name == "…" {
			p = parent + "/… (small files)"
		}
		n := &tmNode{label: name, bytes: k.Bytes, hue: hue,
			title: fmt.Sprintf("%s\n%s, %d files", p, progress.Size(k.Bytes), k.Files)}
		n.leak = !inLeak && under(p, leaks)
		if n.leak {
			n.title += "\nleak: a warning names it"
		}
		n.kids = dirNodes(k, p, hue, leaks, inLeak || n.leak)
		out = append(out, n)
	}
	return out
}

// layout places n and its children in the rectangle x, y, w, h.
func layout(n *tmNode, x, y, w, h float64, depth int, out []box) []box {
	if w*h < minArea || w < 2 || h < 2 {
		return out
	}
	b := box{X: x, Y: y, W: w, H: h, Depth: depth, Color: color(n.hue, depth), Label: n.label, Title: n.title, Leak: n.leak}
	kids := make([]*tmNode, 0, len(n.kids))
	for _, k := range n.kids {
		if k.bytes > 0 {
			kids = append(kids, k)
		}
	}
	inner := h - headerH - 2
	if len(kids) == 0 || depth >= maxDepth || inner < 8 || w < 12 {
		return append(out, b)
	}
	b.Group = true
	out = append(out, b)
	return layoutKids(n, kids, x+2, y+headerH, w-4, inner, depth+1, out)
}

// layoutKids places the children kids of n in a rectangle; the part of
// n's bytes that is not in its children (a directory's own files) keeps
// its share of the area, at the bottom.
func layoutKids(n *tmNode, kids []*tmNode, ix, iy, iw, ih float64, depth int, out []box) []box {
	sort.SliceStable(kids, func(i, j int) bool { return kids[i].bytes > kids[j].bytes })
	var total int64
	for _, k := range kids {
		total += k.bytes
	}
	if total == 0 {
		return out
	}
	if n.bytes > total {
		ih = ih * float64(total) / float64(n.bytes)
	}
	scale := iw * ih / float64(total)
	vals := make([]float64, len(kids))
	for i, k := range kids {
		vals[i] = float64(k.bytes) * scale
	}
	for i, r := range squarify(vals, rect{ix, iy, iw, ih}) {
		out = layout(kids[i], r.x, r.y, r.w, r.h, depth, out)
	}
	return out
}

type rect struct{ x, y, w, h float64 }

// squarify splits r into rectangles of the areas vals (sorted large
// first, summing to r's area), as close to squares as it can.
func squarify(vals []float64, r rect) []rect {
	out := make([]rect, 0, len(vals))
	for len(vals) > 0 {
		side := math.Min(r.w, r.h)
		n := 1
		for n < len(vals) && worst(vals[:n+1], side) <= worst(vals[:n], side) {
			n++
		}
		var sum float64
		for _, v := range vals[:n] {
			sum += v
		}
		if r.w >= r.h {
			cw := sum / r.h
			y := r.y
			for _, v := range vals[:n] {
				out = append(out, rect{r.x, y, cw, v / cw})
				y += v / cw
			}
			r.x, r.w = r.x+cw, r.w-cw
		} else {
			ch := sum / r.w
			x := r.x
			for _, v := range vals[:n] {
				out = append(out, rect{x, r.y, v / ch, ch})
				x += v / ch
			}
			r.y, r.h = r.y+ch, r.h-ch
		}
		vals = vals[n:]
	}
	return out
}

func worst(row []float64, side float64) float64 {
	var sum, hi float64
	lo := math.Inf(1)
	for _, v := range row {
		sum += v
		hi, lo = math.Max(hi, v), math.Min(lo, v)
	}
	if sum == 0 || lo == 0 {
		return math.Inf(1)
	}
	s2, w2 := sum*sum, side*side
	return math.Max(w2*hi/s2, s2/(w2*lo))
}

// layoutImage places the whole tree: its origins fill the map.
func layoutImage(root *tmNode) []box {
	return layoutKids(root, root.kids, 0, 0, mapWidth, mapHeight, 0, nil)
}

// color is an origin's hue, lighter the deeper the box.
func color(hue, depth int) template.CSS {
	l := 46 + 5*depth
	if l > 84 {
		l = 84
	}
	if hue < 0 {
		return template.CSS(fmt.Sprintf("hsl(0,0%%,%d%%)", l))
	}
	return template.CSS(fmt.Sprintf("hsl(%d,60%%,%d%%)", hue, l))
}
