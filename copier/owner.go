package copier

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
)

// maxUserFileBytes bounds how much of /etc/passwd or /etc/group is read, as BuildKit does.
const maxUserFileBytes = 10 << 20

// ResolveOwner resolves a --chown value ("user", "user:group", "uid:gid",
// "1000", "user:1000", ...) to numeric ids, reading destRoot's /etc/passwd
// and /etc/group (symlinks are resolved inside destRoot). A numeric user
// without a group uses the same number as gid; a named user without a
// group uses its primary gid; "root" is 0 without a lookup. A name that
// cannot be found is an ErrUnknownOwner error naming it.
func ResolveOwner(destRoot, spec string) (Owner, error) {
	userPart, groupPart, _ := strings.Cut(spec, ":")
	if userPart == "" && groupPart == "" {
		return Owner{}, fmt.Errorf("%w: %q: missing user", ErrInvalidOwner, spec)
	}
	var o Owner
	if userPart == "" {
		// ":group" keeps root as the user, as BuildKit does
	} else if id, ok, err := parseID(userPart); err != nil {
		return Owner{}, fmt.Errorf("%w: %q: %w", ErrInvalidOwner, spec, err)
	} else if ok {
		o = Owner{UID: id, GID: id}
	} else {
		u, err := lookupUser(destRoot, userPart)
		if err != nil {
			return Owner{}, err
		}
		o = Owner{UID: u.Uid, GID: u.Gid}
		if o.UID < 0 || o.GID < 0 {
			return Owner{}, fmt.Errorf("%w: %q: negative id in /etc/passwd", ErrInvalidOwner, spec)
		}
	}
	if groupPart == "" {
		return o, nil
	}
	if id, ok, err := parseID(groupPart); err != nil {
		return Owner{}, fmt.Errorf("%w: %q: %w", ErrInvalidOwner, spec, err)
	} else if ok {
		o.GID = id
		return o, nil
	}
	g, err := lookupGroup(destRoot, groupPart)
	if err != nil {
		return Owner{}, err
	}
	if g.Gid < 0 {
		return Owner{}, fmt.Errorf("%w: %q: negative id in /etc/group", ErrInvalidOwner, spec)
	}
	o.GID = g.Gid
	return o, nil
}

// parseID parses a numeric id; "root" counts as 0, as in BuildKit. ok is
// false for a name.
func parseID(s string) (id int, ok bool, err error) {
	if s == "root" {
		return 0, true, nil
	}
	n, perr := strconv.ParseInt(s, 10, 32)
	if perr != nil {
		return 0, false, nil
	}
	if n < 0 {
		return 0, false, fmt.Errorf("negative id %d", n)
	}
	return int(n), true, nil
}

// lookupUser finds name in destRoot's /etc/passwd.
func lookupUser(destRoot, name string) (user.User, error) {
	var users []user.User
	err := withUserFile(destRoot, "/etc/passwd", func(r io.Reader) (err error) {
		users, err = user.ParsePasswdFilter(r, func(u user.User) bool { return u.Name == name })
		return err
	})
	if err != nil {
		return user.User{}, err
	}
	if len(users) == 0 {
		return user.User{}, fmt.Errorf("%w: unable to find user %s: no matching entries in passwd file", ErrUnknownOwner, name)
	}
	return users[0], nil
}

// lookupGroup finds name in destRoot's /etc/group.
func lookupGroup(destRoot, name string) (user.Group, error) {
	var groups []user.Group
	err := withUserFile(destRoot, "/etc/group", func(r io.Reader) (err error) {
		groups, err = user.ParseGroupFilter(r, func(g user.Group) bool { return g.Name == name })
		return err
	})
	if err != nil {
		return user.Group{}, err
	}
	if len(groups) == 0 {
		return user.Group{}, fmt.Errorf("%w: unable to find group %s: no matching entries in group file", ErrUnknownOwner, name)
	}
	return groups[0], nil
}

// withUserFile opens the in-root regular file p and passes it to fn; a
// missing file is passed as empty, so the lookup finds nothing.
func withUserFile(destRoot, p string, fn func(io.Reader) error) error {
	real, err := securejoin.SecureJoin(destRoot, p)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", p, err)
	}
	f, err := openRegular(real)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fn(strings.NewReader(""))
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	if err := fn(io.LimitReader(f, maxUserFileBytes)); err != nil {
		return fmt.Errorf("parsing %s: %w", p, err)
	}
	return nil
}

// openRegular opens p for reading if it is a regular file, without following a final symlink.
func openRegular(p string) (*os.File, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p)
	}
	return os.OpenFile(p, os.O_RDONLY|oNoFollow, 0)
}
