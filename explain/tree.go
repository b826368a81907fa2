package explain

import (
	"path"
	"sort"
	"strings"
)

// node is one path of a layer: the content bytes and the files at or
// below it. A layer's paths make a tree rooted at "/".
type node struct {
	bytes int64
	files int
	dir   bool
	kids  map[string]*node
}

func newTree() *node { return &node{dir: true} }

// add records the entry at p (a clean absolute path) with size content
// bytes: a file (or link, device…) counts as one file, a directory as none.
func (root *node) add(p string, size int64, dir bool) {
	n := root
	if !dir {
		n.files++
	}
	n.bytes += size
	if p == "/" {
		return
	}
	comps := strings.Split(p[1:], "/")
	for i, c := range comps {
		last := i == len(comps)-1
		if n.kids == nil {
			n.kids = make(map[string]*node)
		}
		k := n.kids[c]
		if k == nil {
			k = &node{}
			n.kids[c] = k
		}
		if !last || dir {
			k.dir = true
		}
		k.bytes += size
		if !dir {
			k.files++
		}
		n = k
	}
}

// lookup returns the node at the clean absolute path p, or nil.
func (root *node) lookup(p string) *node {
	n := root
	if p == "/" {
		return n
	}
	for _, c := range strings.Split(p[1:], "/") {
		if n = n.kids[c]; n == nil {
			return nil
		}
	}
	return n
}

// PathSize is a path of a layer with the content bytes at or below it.
type PathSize struct {
	Path  string `json:"path"` // directories end in "/"
	Bytes int64  `json:"bytes"`
	Files int    `json:"files"`
}

type pathNode struct {
	path string
	n    *node
}

func (p pathNode) kids() []pathNode {
	out := make([]pathNode, 0, len(p.n.kids))
	for name, k := range p.n.kids {
		out = append(out, pathNode{path.Join(p.path, name), k})
	}
	return out
}

func sortPathNodes(ps []pathNode) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].n.bytes != ps[j].n.bytes {
			return ps[i].n.bytes > ps[j].n.bytes
		}
		return ps[i].path < ps[j].path
	})
}

// topPaths returns the n largest paths of the tree as a du-like user wants
// them: disjoint, at the depth that says where the bytes are. It starts
// from the children of "/" and splits the largest directories while they
// have few children or one that holds most of their bytes; a directory
// with many small children (a cache, node_modules) stays whole, and so do
// the roots in keep (toolchains, caches, VCS dirs the scan recognised).
func topPaths(root *node, n int, keep map[string]bool) []PathSize {
	if n <= 0 || root.bytes == 0 {
		return nil
	}
	front := pathNode{"/", root}.kids()
	for iter := 0; iter < 256; iter++ {
		sortPathNodes(front)
		split := -1
		for i := 0; i < len(front) && i < n; i++ {
			if splittable(front[i], keep) {
				split = i
				break
			}
		}
		if split < 0 {
			break
		}
		kids := front[split].kids()
		front = append(append(front[:split:split], kids...), front[split+1:]...)
	}
	sortPathNodes(front)
	var out []PathSize
	for _, p := range front {
		if len(out) == n || p.n.bytes == 0 {
			break
		}
		name := p.path
		if p.n.dir {
			name += "/"
		}
		out = append(out, PathSize{Path: name, Bytes: p.n.bytes, Files: p.n.files})
	}
	return out
}

const maxSplitKids = 16

func splittable(p pathNode, keep map[string]bool) bool {
	if !p.n.dir || len(p.n.kids) == 0 || keep[p.path] {
		return false
	}
	switch path.Base(p.path) {
	case "node_modules", "site-packages", "dist-packages", ".git":
		return false
	}
	if len(p.n.kids) <= maxSplitKids {
		return true
	}
	for _, k := range p.n.kids {
		if 2*k.bytes >= p.n.bytes {
			return true
		}
	}
	return false
}

// treeDir is a layer's directory tree pruned for display (the HTML treemap):
// children smaller than a fraction of the layer are folded into one
// "…" entry.
type treeDir struct {
	Name  string     `json:"n"`
	Bytes int64      `json:"b"`
	Files int        `json:"f,omitempty"`
	Kids  []*treeDir `json:"k,omitempty"`
}

const (
	pruneFraction = 2000 // keep children of at least 1/pruneFraction of the layer
	pruneDepth    = 12
	pruneKids     = 40 // at most this many children of one directory
)

// prune turns the tree into a treeDir small enough to keep and to draw.
func prune(root *node) *treeDir {
	min := root.bytes / pruneFraction
	if min < 1 {
		min = 1
	}
	return pruneNode("/", root, min, 0)
}

func pruneNode(name string, n *node, min int64, depth int) *treeDir {
	d := &treeDir{Name: name, Bytes: n.bytes, Files: n.files}
	if depth >= pruneDepth || len(n.kids) == 0 {
		return d
	}
	kids := pathNode{"", n}.kids()
	sortPathNodes(kids)
	var other treeDir
	for _, k := range kids {
		if k.n.bytes >= min && len(d.Kids) < pruneKids {
			d.Kids = append(d.Kids, pruneNode(k.path, k.n, min, depth+1))
			continue
		}
		other.Bytes += k.n.bytes
		other.Files += k.n.files
	}
	if other.Bytes > 0 {
		other.Name = "…"
		d.Kids = append(d.Kids, &other)
	}
	if len(d.Kids) == 1 && d.Kids[0].Name == "…" {
		d.Kids = nil // nothing worth drawing below
	}
	return d
}
