package solver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/kiln-build/kiln/cache"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// runWorkdir sets the working dir and, as BuildKit, creates it in a layer
// of its own (owned by the stage's USER) unless it is "/".
func (s *stage) runWorkdir(ctx context.Context, c *instructions.WorkdirCommand) error {
	wd := c.Path
	if !path.IsAbs(wd) {
		wd = path.Join("/", s.img.Config.Config.WorkingDir, wd)
	}
	wd = path.Clean(wd)
	s.img.Config.Config.WorkingDir = wd
	if wd == "/" {
		s.history("WORKDIR "+wd, false, false)
		return nil
	}
	key := cache.NewKey(s.key, "WORKDIR").Add("path", wd).Add("user", s.img.Config.Config.User).String()
	var err error
	err = s.layerStep(ctx, key, func(root string) error {
		u, err := resolveUser(root, s.img.Config.Config.User)
		if err != nil {
			return err
		}
		return mkdirAllOwned(root, wd, int(u.UID), int(u.GID))
	})
	if err != nil {
		return s.errorf(c.Location(), "WORKDIR %s: %w", wd, err)
	}
	s.history("WORKDIR "+wd, true, false)
	return nil
}

// mkdirAllOwned creates dir (absolute, inside root, symlinks resolved within
// root) and any missing parents, mode 0755, owned by uid:gid.
func mkdirAllOwned(root, dir string, uid, gid int) error {
	cur := root
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part == "" {
			continue
		}
		next, err := securejoin.SecureJoin(root, strings.TrimPrefix(filepath.Join(cur, part), root))
		if err != nil {
			return err
		}
		fi, err := os.Stat(next)
		switch {
		case err == nil && !fi.IsDir():
			return fmt.Errorf("%s is not a directory", strings.TrimPrefix(next, root))
		case os.IsNotExist(err):
			if err := os.Mkdir(next, 0o755); err != nil {
				return err
			}
			if err := os.Lchown(next, uid, gid); err != nil && !(os.Geteuid() != 0 && errors.Is(err, syscall.EPERM)) {
				return err // an ordinary user without a user namespace keeps its own ids
			}
		case err != nil:
			return err
		}
		cur = next
	}
	return nil
}
