package copier

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/moby/patternmatcher"
)

// COPY --parents, as BuildKit's Dockerfile frontend lowers it: a source
// "PIVOT/./PATTERN" (or just "PATTERN", whose pivot is the root) copies the
// contents of each directory PIVOT matches into dest, keeping only what
// PATTERN selects below it, with the directories on the way (BuildKit's
// include patterns, in tonistiigi/fsutil's copy). PIVOT may hold wildcards
// (matching nothing copies nothing); PATTERN is a .dockerignore-style
// pattern ("**" spans any number of directories, zero included) and may
// match nothing; a source without any wildcard must exist.

// include is the PATTERN part of a --parents source, matched against paths
// relative to the pivot directory.
type include struct {
	pm   *patternmatcher.PatternMatcher
	head []string // leading components without wildcards
}

func newInclude(pattern string) (*include, error) {
	pm, err := patternmatcher.New([]string{pattern})
	if err != nil {
		return nil, fmt.Errorf("invalid --parents pattern %q: %w", pattern, err)
	}
	in := &include{pm: pm}
	for _, c := range splitRel(pattern) {
		if containsWildcards(c) || strings.Contains(c, `\`) {
			break
		}
		in.head = append(in.head, c)
	}
	return in, nil
}

// matches reports whether rel (relative to the pivot) or one of its
// parents matches the pattern.
func (in *include) matches(rel string) (bool, error) {
	ok, err := in.pm.MatchesOrParentMatches(filepath.FromSlash(rel))
	if err != nil {
		return false, fmt.Errorf("matching --parents pattern: %w", err)
	}
	return ok, nil
}

// mayHold reports whether the directory rel, which does not match, can
// hold a path that does: its path must agree with the pattern's literal
// head as far as both go.
func (in *include) mayHold(rel string) bool {
	comps := splitRel(rel)
	for i := 0; i < len(comps) && i < len(in.head); i++ {
		if comps[i] != in.head[i] {
			return false
		}
	}
	return true
}

// collectParents resolves one --parents source into items: each directory
// (or file) its pivot matches, with the pattern to select below it.
func (c *copier) collectParents(ctx context.Context, group int, s string) ([]item, error) {
	pivot, pattern, ok := strings.Cut(s, "/./")
	if !ok {
		pivot, pattern = "/", s
	}
	pattern = strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(pattern)), "/")
	pivotRel, err := cleanSource(pivot)
	if err != nil {
		return nil, err
	}
	in, err := newInclude(pattern)
	if err != nil {
		return nil, err
	}
	if !containsWildcards(pivotRel) && !containsWildcards(pattern) {
		if err := c.requirePath(ctx, pivotRel, pattern); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, &notFoundError{path: s}
			}
			return nil, err
		}
	}
	pivots := []string{pivotRel}
	if containsWildcards(pivotRel) {
		pivots, err = c.src.glob(ctx, pivotRel)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // BuildKit: an empty wildcard copies nothing
		}
		if err != nil {
			return nil, err
		}
	}
	var items []item
	for _, p := range pivots {
		it, err := c.resolveItem(ctx, group, p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &notFoundError{path: s}
		}
		if err != nil {
			return nil, err
		}
		it.include = in
		items = append(items, it)
	}
	return items, nil
}

// requirePath checks that pattern names an entry below the directory
// pivot: the pivot's symlinks are followed, the pattern's are not (the
// copy walks real directories only), as BuildKit's required paths.
func (c *copier) requirePath(ctx context.Context, pivot, pattern string) error {
	real, fi, err := c.src.resolve(pivot)
	if err != nil {
		return err
	}
	for _, comp := range splitRel(pattern) {
		if !fi.IsDir() {
			return fs.ErrNotExist
		}
		real = path.Join(real, comp)
		if fi, err = os.Lstat(c.src.abs(real)); err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return fs.ErrNotExist
			}
			return err
		}
	}
	ok, err := c.src.present(ctx, real, fi)
	if err == nil && !ok {
		err = fs.ErrNotExist
	}
	return err
}
