package copier

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// dirPerm is the mode of directories created for the destination.
const dirPerm = 0o755

// destFS resolves and creates paths inside the destination root.
type destFS struct {
	root  string
	owner *Owner // --chown, given to created directories; nil = process owner
	chmod *Chmod // --chmod, also given to created directories (as fsutil does)
}

// join resolves the absolute in-root path p to a host path, following
// symlinks that already exist in the root without leaving it.
func (d destFS) join(p string) (string, error) {
	real, err := securejoin.SecureJoin(d.root, p)
	if err != nil {
		return "", fmt.Errorf("resolving destination %s: %w", p, err)
	}
	return real, nil
}

// isDir reports whether the in-root path p exists as a directory.
func (d destFS) isDir(p string) (bool, error) {
	real, err := d.join(cleanDest(p))
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(real)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return false, nil
	}
	return err == nil && fi.IsDir(), err
}

// mkdirAll creates the in-root directory p and its missing parents with
// mode 0755, owned by the --chown owner when given (as BuildKit's
// fsutil MkdirAll does for every directory it creates). It returns the
// host path.
func (d destFS) mkdirAll(p string) (string, error) {
	real, err := d.join(p)
	if err != nil {
		return "", err
	}
	return real, d.mkdirHost(real)
}

// mkdirHost creates the already-resolved host path real below the root.
func (d destFS) mkdirHost(real string) error {
	rel, err := filepath.Rel(d.root, real)
	if err != nil || rel == "." {
		return err
	}
	cur := d.root
	for _, comp := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, comp)
		fi, err := os.Lstat(cur)
		if err == nil {
			if !fi.IsDir() {
				return &os.PathError{Op: "mkdir", Path: d.inRoot(cur), Err: syscall.ENOTDIR}
			}
			continue
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := d.mkdir(cur); err != nil {
			return err
		}
	}
	return nil
}

// mkdir creates one directory with dirPerm, or the --chmod mode, whatever
// the umask (BuildKit applies --chmod to the directories a COPY creates,
// tonistiigi/fsutil#228).
func (d destFS) mkdir(p string) error {
	mode := os.FileMode(dirPerm)
	if d.chmod != nil {
		mode = d.chmod.Apply(dirPerm|os.ModeDir, true)
	}
	if err := os.Mkdir(p, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(p, mode); err != nil {
		return err
	}
	if d.owner != nil {
		return lchown(p, d.owner.UID, d.owner.GID)
	}
	return nil
}

// inRoot returns the host path p as an absolute path inside the root, for messages.
func (d destFS) inRoot(p string) string {
	rel, err := filepath.Rel(d.root, p)
	if err != nil {
		return p
	}
	return "/" + filepath.ToSlash(rel)
}
