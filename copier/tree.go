package copier

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
)

// copyItem copies one resolved source to dest, following BuildKit's
// fsutil Copy: the destination's parent (or dest itself, with a trailing
// slash) is created first; a file lands inside dest when dest is a
// directory; a directory's contents are merged into dest.
func (c *copier) copyItem(ctx context.Context, it item, dest string, destIsDir bool) error {
	ensure := cleanDest(dest)
	if !destIsDir {
		ensure = path.Dir(ensure)
	}
	target, err := c.dst.join(cleanDest(dest))
	if err != nil {
		return err
	}
	if _, err := c.dst.mkdirAll(ensure); err != nil {
		return err
	}
	dfi, err := c.dst.stat(target)
	if err != nil {
		return fmt.Errorf("stat destination: %w", err)
	}
	if !it.fi.IsDir() {
		if dfi != nil && dfi.IsDir() {
			target = filepath.Join(target, it.name)
		}
		w := &walk{c: c, base: it.real, in: it.include}
		return w.entry(ctx, "", target, it.fi)
	}
	if dfi != nil && !dfi.IsDir() {
		return fmt.Errorf("%w: %s", ErrNotDir, c.dst.inRoot(target))
	}
	if dfi == nil || c.dst.below != "" { // (with below: copied up if only below has it)
		if err := c.dst.mkdirHost(target); err != nil {
			return err
		}
	}
	w := &walk{c: c, base: it.real, in: it.include, files: newFileJobs(c.sem)}
	err = w.children(ctx, "", target)
	if werr := w.files.wait(); err == nil {
		err = werr
	}
	return err
}

// walk copies the tree below one source, tracking excluded directories
// whose creation waits for a re-included descendant.
type walk struct {
	c       *copier
	base    string        // Root-relative real path of the source
	in      *include      // --parents: what to copy below base (nil: all)
	pending []*pendingDir // excluded ancestors of the current entry
	sums    []*pendingSum // the same, for Checksum
	files   *fileJobs     // the current directory's files on workers (nil: copy in the walk)
}

// pendingDir is an excluded directory created only if something below it is copied.
type pendingDir struct {
	target  string
	fi      os.FileInfo
	created bool
}

// children copies the entries of the source directory rel (relative to
// the source) into the existing directory target.
func (w *walk) children(ctx context.Context, rel, target string) error {
	entries, err := os.ReadDir(w.c.src.abs(path.Join(w.base, rel)))
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := path.Join(rel, e.Name())
		fi, err := os.Lstat(w.c.src.abs(path.Join(w.base, child)))
		if err != nil {
			return err
		}
		if err := w.entry(ctx, child, filepath.Join(target, e.Name()), fi); err != nil {
			return err
		}
	}
	return nil
}

// entry copies the source entry rel ("" for a top-level file) to target.
func (w *walk) entry(ctx context.Context, rel, target string, fi os.FileInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	include, descend, err := w.filter(rel, fi)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if !include && !descend {
			return nil
		}
		return w.dir(ctx, rel, target, fi, include)
	}
	if !include {
		return nil
	}
	if err := w.createPending(); err != nil {
		return err
	}
	src := w.c.src.abs(path.Join(w.base, rel))
	if w.files != nil && parallel(fi) {
		w.files.run(func() error { return w.c.copyNonDir(src, target, fi) })
		return w.files.failed()
	}
	return w.c.copyNonDir(src, target, fi)
}

// filter applies .dockerignore (Filter), --exclude and the --parents
// pattern to rel. descend tells whether a directory that is not included
// may still hold included paths.
func (w *walk) filter(rel string, fi os.FileInfo) (include, descend bool, err error) {
	if rel == "" {
		return true, true, nil
	}
	ignored, err := w.c.src.excluded(path.Join(w.base, rel))
	if err != nil {
		return false, false, err
	}
	excluded := false
	if w.c.excludes != nil {
		excluded, err = w.c.excludes.MatchesOrParentMatches(filepath.FromSlash(rel))
		if err != nil {
			return false, false, fmt.Errorf("matching --exclude: %w", err)
		}
	}
	selected := true
	if w.in != nil {
		if selected, err = w.in.matches(rel); err != nil {
			return false, false, err
		}
	}
	descend = (!ignored || w.c.src.FilterExceptions) &&
		(!excluded || w.c.excludes.Exclusions()) &&
		(selected || w.in.mayHold(rel))
	return !ignored && !excluded && selected, descend, nil
}

// dir copies the source directory rel to target. An excluded directory is
// only created once a descendant is copied.
func (w *walk) dir(ctx context.Context, rel, target string, fi os.FileInfo, include bool) error {
	p := &pendingDir{target: target, fi: fi}
	w.pending = append(w.pending, p)
	defer func() { w.pending = w.pending[:len(w.pending)-1] }()
	if include {
		if err := w.createPending(); err != nil {
			return err
		}
	}
	outer := w.files
	w.files = newFileJobs(w.c.sem)
	err := w.children(ctx, rel, target)
	if werr := w.files.wait(); err == nil {
		err = werr
	}
	w.files = outer
	if err != nil {
		return err
	}
	if !p.created {
		return nil
	}
	return w.c.applyMeta(w.c.src.abs(path.Join(w.base, rel)), target, nil, fi)
}

// createPending creates the directories on the current path that are not created yet.
func (w *walk) createPending() error {
	for _, p := range w.pending {
		if p.created {
			continue
		}
		if err := w.c.dst.ensureDir(p.target, p.fi); err != nil {
			return err
		}
		p.created = true
	}
	return nil
}
