package solver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-build/kiln/progress"
)

// WithReproducible sets SOURCE_DATE_EPOCH, unless the build args already
// do, to the commit time of the context's last git commit, or 0 when the
// context is not in a git work tree (kiln build --reproducible). With the
// epoch, history and config times are the epoch and the export clamps the
// layers' mtimes to it, so two builds of one commit in two stores give one
// digest.
func WithReproducible() Option {
	return func(o *options) error { o.reproducible = true; return nil }
}

// applyReproducible fills in SOURCE_DATE_EPOCH for WithReproducible.
func (o *options) applyReproducible(ctx context.Context) error {
	if !o.reproducible {
		return nil
	}
	if v, ok := o.buildArgs["SOURCE_DATE_EPOCH"]; ok {
		o.sink.Event(progress.Note{Message: "--reproducible: SOURCE_DATE_EPOCH=" + v + " (given)"})
		return nil
	}
	t, err := commitTime(ctx, o.contextDir)
	switch {
	case err == nil:
		o.buildArgs["SOURCE_DATE_EPOCH"] = strconv.FormatInt(t.Unix(), 10)
		o.sink.Event(progress.Note{Message: fmt.Sprintf("--reproducible: SOURCE_DATE_EPOCH=%d (last commit, %s)",
			t.Unix(), t.UTC().Format(time.RFC3339))})
	case errors.Is(err, errNoCommit):
		o.buildArgs["SOURCE_DATE_EPOCH"] = "0"
		o.sink.Event(progress.Note{Message: "--reproducible: SOURCE_DATE_EPOCH=0 (" + err.Error() + ")"})
	default:
		return fmt.Errorf("--reproducible: %w", err)
	}
	return nil
}

var errNoCommit = errors.New("the context is in no git repository with a commit")

// commitTime is the committer time of HEAD in the git work tree holding
// dir (git log -1 --format=%ct). Without git, or outside a work tree, or in
// a repository without commits, it returns errNoCommit.
func commitTime(ctx context.Context, dir string) (time.Time, error) {
	if dir == "" {
		return time.Time{}, fmt.Errorf("%w (no context)", errNoCommit)
	}
	if _, err := exec.LookPath("git"); err != nil {
		return time.Time{}, fmt.Errorf("%w (git is not installed)", errNoCommit)
	}
	s, err := git(ctx, dir, "log", "-1", "--format=%ct")
	if err != nil {
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		return time.Time{}, errNoCommit
	}
	if s == "" {
		return time.Time{}, errNoCommit
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("git log: commit time %q: %w", s, err)
	}
	return time.Unix(sec, 0), nil
}

// git runs git in dir and returns its output, trimmed.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	cmd.Env = append(cmd.Environ(), "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C")
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

// ContextVCS is what buildx tells BuildKit of a context in a git work
// tree, for provenance: "revision" (HEAD's commit), "source" (the
// remote's URL, credentials removed) and "localdir:context" and
// "localdir:dockerfile" (the directories relative to the work tree's
// top). Outside a work tree, or without git, it is empty.
func ContextVCS(ctx context.Context, req Request) map[string]string {
	out := map[string]string{}
	if req.ContextDir == "" {
		return out
	}
	top, err := git(ctx, req.ContextDir, "rev-parse", "--show-toplevel")
	if err != nil || top == "" {
		return out
	}
	if rev, err := git(ctx, req.ContextDir, "rev-parse", "HEAD"); err == nil && rev != "" {
		out["revision"] = rev
	}
	remote := "origin"
	if rs, err := git(ctx, req.ContextDir, "remote"); err == nil && rs != "" && !strings.Contains("\n"+rs+"\n", "\norigin\n") {
		remote, _, _ = strings.Cut(rs, "\n")
	}
	if u, err := git(ctx, req.ContextDir, "remote", "get-url", remote); err == nil && u != "" {
		out["source"] = redactURL(u)
	}
	df := req.Dockerfile
	if !filepath.IsAbs(df) {
		df = filepath.Join(req.ContextDir, df)
	}
	dirs := map[string]string{"context": req.ContextDir, "dockerfile": filepath.Dir(df)}
	for k, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			continue
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		if rel, err := filepath.Rel(top, abs); err == nil && !strings.HasPrefix(rel, "..") {
			out["localdir:"+k] = rel
		}
	}
	return out
}

// redactURL drops the user information of a URL (a token in
// https://user:token@host/…); scp-like git@host:path stays.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil || u.Scheme == "" {
		return s
	}
	u.User = nil
	return u.String()
}
