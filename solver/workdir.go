package solver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
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
	if len(s.img.Layers) == 0 && namedOwner(s.img.Config.Config.User) {
		// BuildKit looks a name up in the stage's files, and a stage with
		// no layer yet (FROM scratch) has no input to read them from
		return s.errorf(c.Location(), "WORKDIR %s: invalid user index -1: USER %s is looked up by name, but the stage has no files yet",
			wd, s.img.Config.Config.User)
	}
	key := cache.NewKey(s.key, "WORKDIR").Add("path", wd).Add("user", s.img.Config.Config.User).String()
	var err error
	err = s.layerStep(ctx, key, func(root string) error {
		uid, gid := workdirOwner(root, s.img.Config.Config.User)
		made, err := mkdirAllOwned(root, wd, uid, gid)
		if err != nil || s.epoch == nil {
			return err
		}
		// with SOURCE_DATE_EPOCH the directories made take its time, as in
		// BuildKit (a rebuild gives the same layer)
		for _, d := range made {
			if err := os.Chtimes(d, *s.epoch, *s.epoch); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.errorf(c.Location(), "WORKDIR %s: %w", wd, err)
	}
	s.history("WORKDIR "+wd, true, false)
	return nil
}

// workdirOwner is the owner WORKDIR gives the directories it makes: the
// USER's ids; BuildKit does not fail for a user or group the stage does
// not know: without the group it takes the user's own ids, without the
// user root's (or the numeric ids written).
func workdirOwner(root, spec string) (int, int) {
	if u, err := resolveUser(root, spec); err == nil {
		return int(u.UID), int(u.GID)
	}
	name, group, hasGroup := strings.Cut(spec, ":")
	if hasGroup {
		if u, err := resolveUser(root, name); err == nil {
			return int(u.UID), int(u.GID)
		}
	}
	uid, err := strconv.Atoi(name)
	if err != nil {
		return 0, 0
	}
	gid, _ := strconv.Atoi(group)
	return uid, gid
}

// namedOwner reports whether a USER value names its user or group (BuildKit
// takes "root" and 32-bit numbers as ids).
func namedOwner(spec string) bool {
	for _, part := range strings.SplitN(spec, ":", 2) {
		if part == "" || part == "root" {
			continue
		}
		if _, err := strconv.ParseInt(part, 10, 32); err != nil {
			return true
		}
	}
	return false
}

// mkdirAllOwned creates dir (absolute, inside root, symlinks resolved within
// root) and any missing parents, mode 0755, owned by uid:gid. It returns
// the directories it made.
func mkdirAllOwned(root, dir string, uid, gid int) ([]string, error) {
	var made []string
	cur := root
	for _, part := range strings.Split(strings.Trim(dir, "/"), "/") {
		if part == "" {
			continue
		}
		next, err := securejoin.SecureJoin(root, strings.TrimPrefix(filepath.Join(cur, part), root))
		if err != nil {
			return made, err
		}
		fi, err := os.Stat(next)
		switch {
		case err == nil && !fi.IsDir():
			return made, fmt.Errorf("%s is not a directory", strings.TrimPrefix(next, root))
		case os.IsNotExist(err):
			if err := os.Mkdir(next, 0o755); err != nil {
				return made, err
			}
			if err := os.Lchown(next, uid, gid); err != nil && !(os.Geteuid() != 0 && errors.Is(err, syscall.EPERM)) {
				return made, err // an ordinary user without a user namespace keeps its own ids
			}
			made = append(made, next)
		case err != nil:
			return made, err
		}
		cur = next
	}
	return made, nil
}
