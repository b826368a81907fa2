package solver

import (
	"fmt"
	"os"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/moby/sys/user"
)

// execUser is a USER resolved against a root filesystem.
type execUser struct {
	UID, GID uint32
	Groups   []uint32
	Home     string
}

// resolveUser resolves a USER value (name or uid, optionally :group) from
// root's /etc/passwd and /etc/group, as docker does for RUN. An empty spec
// is root.
func resolveUser(root, spec string) (execUser, error) {
	if spec == "" {
		spec = "0"
	}
	passwd, err := securejoin.SecureJoin(root, "/etc/passwd")
	if err != nil {
		return execUser{}, err
	}
	group, err := securejoin.SecureJoin(root, "/etc/group")
	if err != nil {
		return execUser{}, err
	}
	defaults := &user.ExecUser{Uid: 0, Gid: 0, Home: "/"}
	eu, err := user.GetExecUserPath(spec, defaults, existing(passwd), existing(group))
	if err != nil {
		return execUser{}, fmt.Errorf("unable to find user %s: %w", spec, err)
	}
	// as containerd's WithAdditionalGIDs: the primary group comes first in
	// the supplementary list, so `id` shows it under groups= as docker does
	out := execUser{UID: uint32(eu.Uid), GID: uint32(eu.Gid), Home: eu.Home, Groups: []uint32{uint32(eu.Gid)}}
	for _, g := range eu.Sgids {
		if uint32(g) != out.GID {
			out.Groups = append(out.Groups, uint32(g))
		}
	}
	return out, nil
}

// existing returns path, or "" when there is no such file (the user package
// then treats the database as empty).
func existing(path string) string {
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}
