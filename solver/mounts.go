package solver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/kiln-build/kiln/copier"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/store"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runMount is one RUN --mount, resolved.
type runMount struct {
	m      *instructions.Mount
	target string // absolute, joined with WORKDIR
}

// mountsOf resolves the RUN's --mount flags (already expanded).
func (s *stage) mountsOf(c *instructions.RunCommand) ([]runMount, error) {
	var out []runMount
	nssh := 0
	for _, m := range instructions.GetMounts(c) {
		t := m.Target
		if m.Type == instructions.MountTypeSSH {
			id := sshID(m)
			if _, ok := s.opts.ssh[id]; !ok {
				// as BuildKit without that --ssh: an optional ssh mount is
				// left out, a required one fails
				if m.Required {
					return nil, fmt.Errorf("--mount=type=ssh,id=%s,required: no such ssh source: give kiln build --ssh %s[=PATH]", id, id)
				}
				continue
			}
			if t == "" {
				t = fmt.Sprintf("/run/buildkit/ssh_agent.%d", nssh)
			}
			nssh++
		}
		if t == "" && m.Type == instructions.MountTypeSecret {
			id := m.CacheID
			if id == "" {
				id = path.Base(m.Source)
			}
			t = "/run/secrets/" + id
		}
		if t == "" && !(m.Type == instructions.MountTypeSecret && m.Env != nil) {
			return nil, fmt.Errorf("--mount=type=%s: target is required", m.Type)
		}
		if t != "" && !path.IsAbs(t) {
			t = path.Join("/", s.img.Config.Config.WorkingDir, t)
		}
		out = append(out, runMount{m: m, target: t})
	}
	return out, nil
}

// mountKey is what a mount adds to the RUN's cache key: the identity of
// a bind mount's content; only the shape of cache, tmpfs and secret mounts
// (their content never counts, as in BuildKit).
func (s *stage) mountKey(ctx context.Context, rm runMount) (string, error) {
	m := rm.m
	shape := fmt.Sprintf("%s target=%s ro=%v", m.Type, rm.target, m.ReadOnly)
	switch m.Type {
	case instructions.MountTypeBind:
		id, err := s.sourceIdentity(ctx, m.From, []string{bindSource(m)})
		return shape + " " + id, err
	case instructions.MountTypeCache:
		return fmt.Sprintf("%s id=%s sharing=%s", shape, cacheID(rm), m.CacheSharing), nil
	default:
		return shape, nil
	}
}

// sshID is the --ssh id an ssh mount asks for.
func sshID(m *instructions.Mount) string {
	if m.CacheID != "" {
		return m.CacheID
	}
	return "default"
}

func bindSource(m *instructions.Mount) string {
	if m.Source == "" {
		return "/"
	}
	return m.Source
}

func cacheID(rm runMount) string {
	if rm.m.CacheID != "" {
		return rm.m.CacheID
	}
	return rm.target
}

// sourceIdentity names what a path set of a --from source contains: a
// checksum of context files, a stage's key, or an image's digest.
func (s *stage) sourceIdentity(ctx context.Context, from string, paths []string) (string, error) {
	if from == "" {
		if s.files == nil {
			return "", errNoContext
		}
		sum, err := s.files.checksum(ctx, paths, copier.Options{})
		return "context:" + sum, err
	}
	if dep := s.plan.StageByRef(from); dep != nil {
		r, err := s.sched.wait(ctx, dep)
		if err != nil {
			return "", err
		}
		return "stage:" + r.key + ":" + strings.Join(paths, ","), nil
	}
	img, err := s.resolveFrom(ctx, from)
	if err != nil {
		return "", fmt.Errorf("--from=%s: %w", from, err)
	}
	return "image:" + img.ID.String() + ":" + strings.Join(paths, ","), nil
}

// prepareMounts makes the spec mounts of a RUN; release undoes them.
func (s *stage) prepareMounts(ctx context.Context, rms []runMount) ([]specs.Mount, []string, func(), error) {
	var mounts []specs.Mount
	var env []string
	var undo []func()
	release := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	held := map[string]bool{} // cache ids locked by this RUN
	sshEnv := false
	for _, rm := range rms {
		var sm *specs.Mount
		var err error
		var fn func()
		switch rm.m.Type {
		case instructions.MountTypeBind:
			sm, fn, err = s.bindMount(ctx, rm)
		case instructions.MountTypeCache:
			sm, fn, err = s.cacheMount(ctx, rm, held)
		case instructions.MountTypeTmpfs:
			opts := []string{"nosuid"} // as BuildKit's tmpfs mounts
			if rm.m.SizeLimit > 0 {
				opts = append(opts, fmt.Sprintf("size=%d", rm.m.SizeLimit))
			}
			sm = &specs.Mount{Destination: rm.target, Type: "tmpfs", Source: "tmpfs", Options: opts}
		case instructions.MountTypeSecret:
			sm, env, err = s.secretMount(rm, env)
		case instructions.MountTypeSSH:
			sm, fn, err = s.sshMount(ctx, rm, s.opts.ssh[sshID(rm.m)])
			if err == nil && !sshEnv {
				// as BuildKit: the first ssh mount is SSH_AUTH_SOCK
				env, sshEnv = append(env, "SSH_AUTH_SOCK="+rm.target), true
			}
		}
		if fn != nil {
			undo = append(undo, fn)
		}
		if err != nil {
			release()
			return nil, nil, nil, fmt.Errorf("--mount=type=%s,target=%s: %w", rm.m.Type, rm.target, err)
		}
		if sm != nil {
			mounts = append(mounts, *sm)
		}
	}
	return mounts, env, release, nil
}

func bindOpts(ro bool) []string {
	if ro {
		return []string{"rbind", "ro"}
	}
	return []string{"rbind", "rw"}
}

// bindMount mounts a path of the context (a filtered private copy), of a
// stage or of an image. A writable bind gets a throwaway overlay: writes
// never reach the source.
func (s *stage) bindMount(ctx context.Context, rm runMount) (*specs.Mount, func(), error) {
	m := rm.m
	if m.From == "" {
		if s.files == nil {
			return nil, nil, errNoContext
		}
		dir, err := os.MkdirTemp(s.tmp, "bind-")
		if err != nil {
			return nil, nil, err
		}
		undo := func() { os.RemoveAll(dir) }
		src := bindSource(m)
		if err := copier.Copy(ctx, s.files.source(), []string{src}, dir, "/src", copier.Options{}); err != nil {
			return nil, undo, err
		}
		return &specs.Mount{Destination: rm.target, Type: "bind", Source: filepath.Join(dir, "src"), Options: bindOpts(m.ReadOnly)}, undo, nil
	}
	lowers, err := s.lowersOf(ctx, m.From)
	if err != nil {
		return nil, nil, err
	}
	var a snapshot.Active
	if m.ReadOnly {
		a, err = s.layers.snaps.View(ctx, lowers)
	} else {
		a, err = s.layers.snaps.Prepare(ctx, lowers)
	}
	if err != nil {
		return nil, nil, err
	}
	undo := func() { a.Release() }
	p, err := securejoin.SecureJoin(a.Root(), bindSource(m))
	if err != nil {
		return nil, undo, err
	}
	if _, err := os.Stat(p); err != nil {
		return nil, undo, fmt.Errorf("source %s not found in %s", bindSource(m), m.From)
	}
	return &specs.Mount{Destination: rm.target, Type: "bind", Source: p, Options: bindOpts(m.ReadOnly)}, undo, nil
}

// lowersOf is the layer stack of a stage or an image named by --from.
func (s *stage) lowersOf(ctx context.Context, from string) ([]string, error) {
	if dep := s.plan.StageByRef(from); dep != nil {
		r, err := s.sched.wait(ctx, dep)
		if err != nil {
			return nil, err
		}
		return s.layers.lowers(ctx, r.img)
	}
	img, err := s.resolveFrom(ctx, from)
	if err != nil {
		return nil, err
	}
	return s.layers.lowers(ctx, img)
}

// cacheMount mounts a persistent cache dir kept in the store under
// mounts/cache, created on first use with the mount's mode and owner (and
// seeded from from=/source= if given). sharing=locked and private hold the
// id's lock for the whole RUN; shared mounts only take it to create the
// dir. held lists the ids this RUN already locked: a RUN mounting one id
// twice takes its lock once (flock locks are per open file, so a second
// lock would wait for the first forever).
func (s *stage) cacheMount(ctx context.Context, rm runMount, held map[string]bool) (*specs.Mount, func(), error) {
	m := rm.m
	id := cacheID(rm)
	sum := sha256.Sum256([]byte(id))
	base := filepath.Join(s.st.Root(), "mounts", "cache")
	dir := filepath.Join(base, hex.EncodeToString(sum[:16]))
	mount := &specs.Mount{Destination: rm.target, Type: "bind", Source: dir, Options: bindOpts(m.ReadOnly)}
	if held[id] {
		return mount, nil, nil
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		return nil, nil, err
	}
	lock, err := store.LockFile(ctx, dir+".lock")
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		if err := s.newCacheDir(ctx, rm, dir); err != nil {
			lock.Unlock()
			return nil, nil, err
		}
	}
	if m.CacheSharing != instructions.MountSharingLocked && m.CacheSharing != instructions.MountSharingPrivate {
		lock.Unlock() // shared: the lock only guarded creation
		return mount, nil, nil
	}
	held[id] = true
	return mount, lock.Unlock, nil
}

func (s *stage) newCacheDir(ctx context.Context, rm runMount, dir string) error {
	m := rm.m
	tmp := dir + ".new"
	os.RemoveAll(tmp)
	mode := os.FileMode(0o755)
	if m.Mode != nil {
		mode = os.FileMode(*m.Mode)
	}
	if err := os.Mkdir(tmp, mode); err != nil {
		return err
	}
	if m.From != "" {
		lowers, err := s.lowersOf(ctx, m.From)
		if err != nil {
			return err
		}
		v, err := s.layers.snaps.View(ctx, lowers)
		if err != nil {
			return err
		}
		err = copier.Copy(ctx, copier.Source{Root: v.Root(), KeepOwner: true}, []string{bindSource(m)}, tmp, "/", copier.Options{})
		v.Release()
		if err != nil {
			return err
		}
	}
	uid, gid := 0, 0
	if m.UID != nil {
		uid = int(*m.UID)
	}
	if m.GID != nil {
		gid = int(*m.GID)
	}
	// without root (unit tests: native snapshots, no user namespace) the
	// dir stays the caller's; a rootless build runs as root in its namespace
	if err := os.Chown(tmp, uid, gid); err != nil && os.Geteuid() == 0 {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// resolveFrom resolves an image a --from names (it names no stage). When
// that fails, the error says so: a mistyped stage name is the likelier
// cause than a missing image.
func (s *stage) resolveFrom(ctx context.Context, from string) (*image.Image, error) {
	img, err := s.images.Resolve(ctx, from, s.plan.Platform)
	if err == nil || ctx.Err() != nil {
		return img, err
	}
	var names []string
	for _, st := range s.plan.Stages {
		if st.Name != "" {
			names = append(names, st.Name)
		}
	}
	stages := "it has no named stages"
	if len(names) > 0 {
		stages = "its stages are " + strings.Join(names, ", ")
	}
	return nil, fmt.Errorf("%s is no stage of %s (%s), and as an image: %w", from, s.file, stages, err)
}
