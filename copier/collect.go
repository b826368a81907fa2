package copier

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
)

// item is one resolved source to copy.
type item struct {
	group   int         // index of the Dockerfile source it came from
	name    string      // base name as matched, before following a final symlink
	include *include    // with --parents: what to copy below the item (nil: all of it)
	real    string      // Root-relative path with symlinks resolved
	fi      os.FileInfo // Lstat of real
}

// collect resolves the Dockerfile sources into items, in order. A source
// without wildcards must exist; wildcards may match nothing.
func (c *copier) collect(ctx context.Context, srcs []string) ([]item, error) {
	var items []item
	for i, s := range srcs {
		if c.opts.Parents {
			its, err := c.collectParents(ctx, i, s)
			if err != nil {
				return nil, err
			}
			items = append(items, its...)
			continue
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
			items = append(items, it)
		}
	}
	return items, nil
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
