package solver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/copier"
	"github.com/kiln-build/kiln/source"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// addGit runs ADD of a git repository: the ref is resolved to a commit
// first (git ls-remote), and the step is cached by that commit, so it runs
// again only when the branch moves. The checkout's files (owned 0:0 unless
// --chown) go into dest as a directory, as in BuildKit.
func (s *stage) addGit(ctx context.Context, c *instructions.AddCommand, j copyJob) error {
	if len(j.srcs) != 1 || len(j.contents) > 0 {
		return s.errorf(j.loc, "ADD of a git repository takes exactly one source")
	}
	opts := []source.GitOption{source.WithChecksum(j.checksum)}
	if c.KeepGitDir != nil {
		opts = append(opts, source.WithKeepGitDir(*c.KeepGitDir))
	}
	env, stop, err := s.gitSSHEnv(ctx)
	if err != nil {
		return s.errorf(j.loc, "ADD %s: %w", j.srcs[0], err)
	}
	defer stop()
	opts = append(opts, source.WithGitEnv(env...))
	ref, err := source.ResolveGit(ctx, j.srcs[0], opts...)
	if err != nil {
		return s.errorf(j.loc, "ADD %s: %w", j.srcs[0], err)
	}
	dest := s.destPath(j.dest)
	if !strings.HasSuffix(dest, "/") {
		dest += "/"
	}
	copts := copier.Options{Excludes: j.excludes}
	if j.chmod != "" {
		m, err := copier.ParseChmod(j.chmod)
		if err != nil {
			return s.errorf(j.loc, "ADD --chmod: %w", err)
		}
		copts.Chmod = m
	}
	key := cache.NewKey(s.key, "ADD").Add("git", ref.CacheKey()).Add("dest", dest).Add("chown", j.chown).
		Add("chmod", j.chmod).AddList("exclude", j.excludes).String()
	err = s.layerStep(ctx, key, func(root string) error {
		dir, err := os.MkdirTemp(s.tmp, "git-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := source.FetchGit(ctx, ref, filepath.Join(dir, "src"), source.WithGitEnv(env...)); err != nil {
			return err
		}
		return s.withCopySlot(ctx, root, j.chown, &copts, func() error {
			return copier.Copy(ctx, copier.Source{Root: dir}, []string{"src/."}, root, dest, copts)
		})
	})
	if err != nil {
		return s.errorf(j.loc, "ADD %s: %w", ref, err)
	}
	s.history(copyHistory(j), true, true)
	return nil
}

// gitSSHEnv gives git the --ssh default agent, when there is one: its
// socket, or a socket kiln serves the keys on. Without it git uses the
// user's own environment (SSH_AUTH_SOCK, keys in ~/.ssh).
func (s *stage) gitSSHEnv(ctx context.Context) ([]string, func(), error) {
	src, ok := s.opts.ssh["default"]
	if !ok {
		return nil, func() {}, nil
	}
	if src.socket != "" {
		return []string{"SSH_AUTH_SOCK=" + src.socket}, func() {}, nil
	}
	m, stop, err := s.sshMount(ctx, runMount{m: &instructions.Mount{}, target: "/unused"}, src)
	if err != nil {
		return nil, nil, fmt.Errorf("serving the --ssh default keys to git: %w", err)
	}
	return []string{"SSH_AUTH_SOCK=" + m.Source}, stop, nil
}
