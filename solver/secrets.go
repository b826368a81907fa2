package solver

import (
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// secretMount exposes a --secret to a RUN: as a read-only file (default
// /run/secrets/<id>, mode 0400) and/or an environment variable (env=).
// Secret content never enters a layer, the cache key or the history. A
// missing secret is skipped unless the mount says required.
func (s *stage) secretMount(rm runMount, env []string) (*specs.Mount, []string, error) {
	m := rm.m
	id := m.CacheID
	if id == "" {
		id = filepath.Base(rm.target)
	}
	val, ok := s.opts.secrets[id]
	if !ok {
		if m.Required {
			return nil, env, fmt.Errorf("secret %q is required but was not given (kiln build --secret id=%s,src=FILE)", id, id)
		}
		return nil, env, nil
	}
	if m.Env != nil {
		name := *m.Env
		if name == "" {
			name = id
		}
		env = append(env, name+"="+string(val))
		if m.Target == "" {
			return nil, env, nil
		}
	}
	dir, err := os.MkdirTemp(s.tmp, "secret-")
	if err != nil {
		return nil, env, err
	}
	p := filepath.Join(dir, "secret")
	mode := os.FileMode(0o400)
	if m.Mode != nil {
		mode = os.FileMode(*m.Mode)
	}
	if err := os.WriteFile(p, val, mode); err != nil {
		return nil, env, err
	}
	uid, gid := 0, 0
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	if err := os.Chown(p, uid, gid); err != nil {
		return nil, env, err
	}
	return &specs.Mount{Destination: rm.target, Type: "bind", Source: p, Options: []string{"bind", "ro"}}, env, nil
}
