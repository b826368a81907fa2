package buildcontext

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
)

var (
	// ErrInvalidIgnore reports a .dockerignore file or pattern that cannot be used.
	ErrInvalidIgnore = errors.New("buildcontext: invalid .dockerignore")
	// ErrIgnoreFileIsDir reports a .dockerignore path that is a directory.
	ErrIgnoreFileIsDir = errors.New("buildcontext: .dockerignore is a directory")
	// ErrNotDir reports a context path that is not a directory.
	ErrNotDir = errors.New("buildcontext: context is not a directory")
)

// Context is a build context: a root directory and its compiled .dockerignore rules.
type Context struct {
	dir string
	pm  *patternmatcher.PatternMatcher // nil when nothing is excluded
}

// New returns the context rooted at dir, excluding paths matched by
// excludes (patterns as returned by LoadIgnore).
func New(dir string, excludes []string) (*Context, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s", ErrNotDir, dir)
	}
	c := &Context{dir: abs}
	if len(excludes) == 0 {
		return c, nil
	}
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidIgnore, err)
	}
	c.pm = pm
	return c, nil
}

// Dir returns the absolute context root directory.
func (c *Context) Dir() string { return c.dir }

// Excluded reports whether the context-relative slash path rel (e.g.
// "src/a.go") is excluded by .dockerignore. A path is excluded when it or
// one of its parent directories matches, unless a later "!" exception
// re-includes it. The context root itself is never excluded.
func (c *Context) Excluded(rel string) (bool, error) {
	if c.pm == nil {
		return false, nil
	}
	rel = cleanRel(rel)
	if rel == "." {
		return false, nil
	}
	ok, err := c.pm.MatchesOrParentMatches(filepath.FromSlash(rel))
	if err != nil {
		return false, fmt.Errorf("matching %s: %w", rel, err)
	}
	return ok, nil
}

// HasExceptions reports whether the patterns contain "!" exceptions, in
// which case an excluded directory may still hold re-included paths and
// must be walked rather than skipped.
func (c *Context) HasExceptions() bool {
	return c.pm != nil && c.pm.Exclusions()
}

// cleanRel normalises a context-relative slash path: a leading "/" is
// ignored and the result is lexically clean.
func cleanRel(rel string) string {
	rel = path.Clean("/" + filepath.ToSlash(rel))
	if rel == "/" {
		return "."
	}
	return strings.TrimPrefix(rel, "/")
}
