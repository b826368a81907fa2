package solver

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
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
	bin, err := exec.LookPath("git")
	if err != nil {
		return time.Time{}, fmt.Errorf("%w (git is not installed)", errNoCommit)
	}
	cmd := exec.CommandContext(ctx, bin, "-C", dir, "log", "-1", "--format=%ct")
	cmd.Env = append(cmd.Environ(), "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C")
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			return time.Time{}, ctx.Err()
		}
		return time.Time{}, errNoCommit
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return time.Time{}, errNoCommit
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("git log: commit time %q: %w", s, err)
	}
	return time.Unix(sec, 0), nil
}
