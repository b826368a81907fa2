package snapshot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// Active is a mounted snapshot being written (Prepare) or read (View).
type Active struct {
	lowers  []string
	dir     string // holds upper/, work/, root/
	upper   string
	root    string
	mounted bool
	empty   bool // a view of no layers: root is a plain empty dir
}

// Prepare makes a new upper dir in tmp and mounts lowers (top first) under
// it. With no lowers, root is the upper dir itself (no mount needed).
func Prepare(ctx context.Context, tmp string, lowers []string) (*Active, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tmp, "snap-")
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	a := &Active{dir: dir, upper: filepath.Join(dir, "upper"), root: filepath.Join(dir, "root"), lowers: lowers}
	for _, d := range []string{a.upper, filepath.Join(dir, "work"), a.root} {
		if err := os.Mkdir(d, 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	if len(lowers) == 0 {
		// overlay needs a lower dir; an empty one costs nothing
		lowers = []string{filepath.Join(dir, "empty")}
		if err := os.Mkdir(lowers[0], 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := mountOverlay(a.root, lowers, a.upper, filepath.Join(dir, "work")); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	a.mounted = true
	return a, nil
}

// View mounts lowers (top first) read-only. With no lowers it is an empty dir.
func View(ctx context.Context, tmp string, lowers []string) (*Active, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tmp, "view-")
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	a := &Active{dir: dir, root: filepath.Join(dir, "root")}
	if err := os.Mkdir(a.root, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if len(lowers) == 0 {
		a.empty = true
		return a, nil
	}
	if len(lowers) == 1 {
		// overlay refuses a single lower with no upper on some kernels; a
		// second, empty lower changes nothing
		e := filepath.Join(dir, "empty")
		if err := os.Mkdir(e, 0o755); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		lowers = []string{lowers[0], e}
	}
	if err := mountOverlay(a.root, lowers, "", ""); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	a.mounted = true
	return a, nil
}

// Root is the merged filesystem.
func (a *Active) Root() string { return a.root }

// Upper is the dir that receives the changes ("" for a View).
func (a *Active) Upper() string { return a.upper }

// Unmount unmounts the merged view; the upper dir stays.
func (a *Active) Unmount() error {
	if !a.mounted {
		return nil
	}
	if err := unmount(a.root); err != nil {
		return err
	}
	a.mounted = false
	return nil
}

// Commit unmounts and returns the upper dir, which now holds exactly the
// step's changes in overlay format, normalized as BuildKit's differ would
// write them (see normalize). The caller owns it from then on.
func (a *Active) Commit() (string, error) {
	if err := a.Unmount(); err != nil {
		return "", err
	}
	os.RemoveAll(filepath.Join(a.dir, "work"))
	if err := normalize(a.upper, a.lowers); err != nil {
		return "", fmt.Errorf("snapshot: normalizing upper dir: %w", err)
	}
	return a.upper, nil
}

// Release unmounts and removes everything, the upper dir included.
func (a *Active) Release() error {
	err := a.Unmount()
	if err != nil {
		return err
	}
	return os.RemoveAll(a.dir)
}
