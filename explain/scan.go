package explain

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// layerScan is what one pass over a layer tar found. It depends only on
// the layer's content, so it is kept beside the layer blob and reused.
type layerScan struct {
	TarBytes  int64      `json:"tar_bytes"` // the uncompressed tar stream
	Bytes     int64      `json:"bytes"`     // regular files' content
	Files     int        `json:"files"`     // entries that are not directories
	Top       []PathSize `json:"top"`
	Tree      *treeDir   `json:"tree"`
	Facts     []*fact    `json:"facts,omitempty"`
	Whiteouts []string   `json:"whiteouts,omitempty"` // paths the layer deletes; "DIR/" when opaque
}

// scanTopPaths is how many top paths a scan keeps; reports show fewer.
const scanTopPaths = 20

// scanTar reads an uncompressed layer tar once: the size of every path,
// what its files are (see classifier) and what it deletes.
func scanTar(ctx context.Context, r io.Reader) (*layerScan, error) {
	cr := &countingReader{r: r}
	tr := tar.NewReader(cr)
	tree := newTree()
	c := newClassifier()
	s := &layerScan{}
	for i := 0; ; i++ {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("explain: reading layer tar: %w", err)
		}
		p := cleanPath(h.Name)
		if dir, base := path.Split(p); strings.HasPrefix(base, ".wh.") {
			if base == ".wh..wh..opq" {
				s.Whiteouts = append(s.Whiteouts, strings.TrimSuffix(dir, "/")+"/")
			} else {
				s.Whiteouts = append(s.Whiteouts, path.Join(dir, base[len(".wh."):]))
			}
			continue
		}
		switch h.Typeflag {
		case tar.TypeDir:
			tree.add(p, 0, true)
		case tar.TypeReg:
			tree.add(p, h.Size, false)
			if h.Size > 0 {
				if err := c.file(p, h, tr); err != nil {
					return nil, fmt.Errorf("explain: reading %s: %w", p, err)
				}
			}
		default:
			tree.add(p, 0, false)
		}
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, fmt.Errorf("explain: reading layer tar: %w", err)
	}
	s.TarBytes, s.Bytes, s.Files = cr.n, tree.bytes, tree.files
	s.Facts = resolveFacts(tree, c.facts)
	keep := make(map[string]bool)
	for _, f := range s.Facts {
		keep[f.Path] = true
	}
	s.Top = topPaths(tree, scanTopPaths, keep)
	s.Tree = prune(tree)
	return s, nil
}

// cleanPath turns a tar entry name into a clean absolute path.
func cleanPath(name string) string {
	return path.Clean("/" + name)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// resolveFacts settles each toolchain's root now that the whole layer is
// known, merges facts with the same root, sizes them from the tree, drops
// empty ones and secrets inside a toolchain or cache (a toolchain's test
// keys are not the image's), and orders them by kind and size.
func resolveFacts(tree *node, facts []*fact) []*fact {
	byKey := make(map[string]*fact)
	var out []*fact
	for _, f := range facts {
		if f.Path == "" {
			f.Path = toolRoot(tree, f)
		}
		if g := byKey[f.key()]; g != nil {
			g.merge(f)
			continue
		}
		byKey[f.key()] = f
		out = append(out, f)
	}
	var roots []string
	for _, f := range out {
		if f.Kind == factToolchain || f.Kind == factCache {
			roots = append(roots, f.Path)
		}
	}
	kept := out[:0]
	for _, f := range out {
		if n := tree.lookup(f.Path); n != nil {
			f.Bytes, f.Files = n.bytes, n.files
		}
		if f.Bytes == 0 || f.Kind == factSecret && under(f.Path, roots) {
			continue
		}
		kept = append(kept, f)
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if kept[i].Kind != kept[j].Kind {
			return kept[i].Kind < kept[j].Kind
		}
		if kept[i].Bytes != kept[j].Bytes {
			return kept[i].Bytes > kept[j].Bytes
		}
		return kept[i].Path < kept[j].Path
	})
	return kept
}

func toolRoot(tree *node, f *fact) string {
	for _, c := range f.cands {
		for _, m := range f.marks {
			if tree.lookup(path.Join(c, m)) != nil {
				return c
			}
		}
	}
	return f.file
}

// under reports whether p is one of roots or below one.
func under(p string, roots []string) bool {
	for _, r := range roots {
		if p == r || strings.HasPrefix(p, r+"/") || r == "/" {
			return true
		}
	}
	return false
}
