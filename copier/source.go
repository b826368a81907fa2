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
)

// maxSymlinks bounds symlink expansions in one path, as Linux does.
const maxSymlinks = 40

// errLoop reports a symlink loop (more than maxSymlinks links) in the
// source path rel; it matches syscall.ELOOP.
func errLoop(rel string) error {
	return fmt.Errorf("resolving source %s: symlink loop (more than %d links to follow): %w", rel, maxSymlinks, syscall.ELOOP)
}

// sourceFS resolves and reads paths inside Source.Root.
type sourceFS struct{ Source }

// abs returns the host path of the Root-relative slash path rel.
func (s sourceFS) abs(rel string) string {
	return filepath.Join(s.Root, filepath.FromSlash(rel))
}

// cleanSource turns a source as written into a clean Root-relative slash
// path ("." for the root); leading "/" is ignored and ".." may not climb
// above the root.
func cleanSource(p string) (string, error) {
	rel := path.Clean(strings.TrimLeft(filepath.ToSlash(p), "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: %s", ErrOutsideContext, p)
	}
	return rel, nil
}

// excluded reports whether the Root-relative path rel is filtered out.
func (s sourceFS) excluded(rel string) (bool, error) {
	if s.Filter == nil || rel == "." || rel == "" {
		return false, nil
	}
	return s.Filter(rel)
}

// resolve follows every symlink on the clean Root-relative path rel and
// returns the real Root-relative path and its Lstat. Absolute link targets
// are relative to Root; relative ones may not climb above it
// (ErrOutsideContext). A missing or filtered path reports fs.ErrNotExist.
func (s sourceFS) resolve(rel string) (string, os.FileInfo, error) {
	var done []string
	todo := splitRel(rel)
	links := 0
	for len(todo) > 0 {
		comp := todo[0]
		todo = todo[1:]
		switch comp {
		case ".":
			continue
		case "..":
			if len(done) == 0 {
				return "", nil, fmt.Errorf("%w: symlink in %s", ErrOutsideContext, rel)
			}
			done = done[:len(done)-1]
			continue
		}
		cand := path.Join(path.Join(done...), comp)
		fi, err := os.Lstat(s.abs(cand))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return "", nil, fs.ErrNotExist
			}
			return "", nil, err
		}
		done = append(done, comp)
		if fi.Mode()&os.ModeSymlink == 0 {
			continue
		}
		if ex, err := s.excluded(cand); err != nil {
			return "", nil, err
		} else if ex {
			return "", nil, fs.ErrNotExist
		}
		if links++; links > maxSymlinks {
			return "", nil, errLoop(rel)
		}
		target, err := os.Readlink(s.abs(cand))
		if err != nil {
			return "", nil, err
		}
		done = done[:len(done)-1]
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		todo = append(splitRel(target), todo...)
	}
	real := path.Join(done...)
	if real == "" {
		real = "."
	}
	fi, err := os.Lstat(s.abs(real))
	return real, fi, err
}

// splitRel splits a slash path into its non-empty components.
func splitRel(p string) []string {
	var out []string
	for _, c := range strings.Split(filepath.ToSlash(p), "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// present reports whether the real path rel survives Filter: it is not
// excluded, or it is an excluded directory that holds a re-included path.
func (s sourceFS) present(ctx context.Context, rel string, fi os.FileInfo) (bool, error) {
	ex, err := s.excluded(rel)
	if err != nil || !ex {
		return !ex, err
	}
	if !fi.IsDir() || !s.FilterExceptions {
		return false, nil
	}
	return s.anyIncluded(ctx, rel)
}

// anyIncluded reports whether the excluded directory rel holds a path that
// Filter re-includes.
func (s sourceFS) anyIncluded(ctx context.Context, rel string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	entries, err := os.ReadDir(s.abs(rel))
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		child := path.Join(rel, e.Name())
		ex, err := s.excluded(child)
		if err != nil {
			return false, err
		}
		if !ex {
			return true, nil
		}
		if e.IsDir() {
			if ok, err := s.anyIncluded(ctx, child); err != nil || ok {
				return ok, err
			}
		}
	}
	return false, nil
}
