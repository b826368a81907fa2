package copier

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
)

// item is one resolved source to copy.
type item struct {
	group int         // index of the Dockerfile source it came from
	name  string      // base name as matched, before following a final symlink
	keep  string      // with --parents: the path kept under dest ("" otherwise)
	real  string      // Root-relative path with symlinks resolved
	fi    os.FileInfo // Lstat of real
}

// collect resolves the Dockerfile sources into items, in order. A source
// without wildcards must exist; wildcards may match nothing.
func (c *copier) collect(ctx context.Context, srcs []string) ([]item, error) {
	var items []item
	for i, s := range srcs {
		pivot := ""
		if c.opts.Parents {
			// "a/./b/c": the part after "/./" is what --parents keeps
			if before, _, ok := strings.Cut(s, "/./"); ok {
				p, err := cleanSource(before)
				if err != nil {
					return nil, err
				}
				pivot = p
			}
		}
		rel, err := cleanSource(s)
		if err != nil {
			return nil, err
		}
		matches := []string{rel}
		if containsWildcards(rel) {
			matches, err = c.src.glob(ctx, rel)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &notFoundError{path: s}
			}
			if err != nil {
				return nil, err
			}
		}
		for _, m := range matches {
			it, err := c.resolveItem(ctx, i, m)
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &notFoundError{path: s}
			}
			if err != nil {
				return nil, err
			}
			if c.opts.Parents {
				it.keep = keptPath(m, pivot)
			}
			items = append(items, it)
		}
	}
	return items, nil
}

// keptPath is the part of the matched source m below pivot ("." = the
// context root) that COPY --parents recreates under dest.
func keptPath(m, pivot string) string {
	if pivot == "" || pivot == "." {
		return m
	}
	return strings.TrimPrefix(strings.TrimPrefix(m, pivot), "/")
}

// resolveItem follows rel to the entry it names and checks Filter on it.
func (c *copier) resolveItem(ctx context.Context, group int, rel string) (item, error) {
	real, fi, err := c.src.resolve(rel)
	if err != nil {
		return item{}, err
	}
	ok, err := c.src.present(ctx, real, fi)
	if err != nil {
		return item{}, err
	}
	if !ok {
		return item{}, fs.ErrNotExist
	}
	return item{group: group, name: path.Base(rel), real: real, fi: fi}, nil
}
