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
)

// containsWildcards reports whether a path has an unescaped * ? or [.
func containsWildcards(p string) bool {
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}

// glob expands the clean Root-relative pattern rel component by component
// with filepath.Match against Root's entries, in lexical order. The part
// before the first wildcard is resolved through symlinks and must exist;
// directories matched in the middle of the pattern are not followed if
// they are symlinks (like BuildKit's walk).
func (s sourceFS) glob(ctx context.Context, rel string) ([]string, error) {
	comps := splitRel(rel)
	i := 0
	for i < len(comps) && !containsWildcards(comps[i]) {
		i++
	}
	base := "."
	if i > 0 {
		real, fi, err := s.resolve(path.Join(comps[:i]...))
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
		}
		base = real
	}
	cands := []string{base}
	for j, comp := range comps[i:] {
		last := i+j == len(comps)-1
		var next []string
		for _, cand := range cands {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			var m []string
			var err error
			if comp == "**" {
				m, err = s.descendants(ctx, cand, last)
			} else {
				m, err = s.matchComponent(cand, comp, last)
			}
			if err != nil {
				return nil, err
			}
			next = append(next, m...)
		}
		cands = dedup(next)
	}
	return s.keepPresent(ctx, cands)
}

// descendants is what a "**" component matches below dir: every
// directory under it (one or more levels, symlinks not followed; BuildKit
// does not match zero levels here), and when "**" ends the pattern every
// entry under it.
func (s sourceFS) descendants(ctx context.Context, dir string, last bool) ([]string, error) {
	var out []string
	err := filepath.WalkDir(s.abs(dir), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.abs(dir), p)
		if rel == "." || (!last && !d.IsDir()) {
			return nil
		}
		out = append(out, path.Join(dir, filepath.ToSlash(rel)))
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return out, err
}

func dedup(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// matchComponent returns the children of dir matching one pattern
// component; unless last, only real directories are kept.
func (s sourceFS) matchComponent(dir, comp string, last bool) ([]string, error) {
	if !containsWildcards(comp) {
		fi, err := os.Lstat(s.abs(path.Join(dir, comp)))
		if err != nil || (!last && !fi.IsDir()) {
			return nil, nil
		}
		return []string{path.Join(dir, comp)}, nil
	}
	entries, err := os.ReadDir(s.abs(dir))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if ok, _ := filepath.Match(comp, e.Name()); !ok {
			continue
		}
		if !last && !e.IsDir() {
			continue
		}
		out = append(out, path.Join(dir, e.Name()))
	}
	return out, nil
}

// keepPresent drops matches that Filter excludes.
func (s sourceFS) keepPresent(ctx context.Context, matches []string) ([]string, error) {
	var out []string
	for _, m := range matches {
		fi, err := os.Lstat(s.abs(m))
		if err != nil {
			return nil, err
		}
		ok, err := s.present(ctx, m, fi)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, strings.TrimPrefix(m, "./"))
		}
	}
	return out, nil
}
