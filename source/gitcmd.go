package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"
)

// gitCmd runs the git binary in one of two environments. Commands that talk
// to the remote (ls-remote, fetch, submodule update) run with the user's
// environment and git config, so credential helpers, url.insteadOf,
// core.sshCommand, GIT_SSH_COMMAND and SSH_AUTH_SOCK work as they do for
// git itself. Commands that only shape local files (init, checkout, the
// fetch from the local bare repository) run isolated from any config, as
// BuildKit runs all of them, so the user's config cannot change the result.
type gitCmd struct {
	bin      string
	env      []string
	gitDir   string
	workTree string
	// secret is the remote URL, replaced by its redacted form in errors
	secret string
}

// repoEnvVars point git at a repository or change how it reads one: a
// caller's values (kiln run from a git hook, say) must not leak in.
var repoEnvVars = []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
	"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX",
	"GIT_SHALLOW_FILE", "GIT_GRAFT_FILE", "GIT_REPLACE_REF_BASE", "GIT_NO_REPLACE_OBJECTS",
	"GIT_IMPLICIT_WORK_TREE", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT",
	"GIT_QUARANTINE_PATH", "GIT_PROTOCOL_FROM_USER"}

// commonEnv: no prompts (a build must not hang on a password question),
// stable messages, LFS files left as pointers (BuildKit has no LFS filter).
var commonEnv = []string{"GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_ADVICE=0", "GIT_LFS_SKIP_SMUDGE=1"}

func remoteGit(o gitOptions, secret string) gitCmd {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(repoEnvVars, k) || strings.HasPrefix(k, "GIT_CONFIG_KEY_") ||
			strings.HasPrefix(k, "GIT_CONFIG_VALUE_") || k == "LC_ALL"
	})
	env = append(append(env, commonEnv...), o.env...)
	return gitCmd{bin: o.git, env: env, secret: secret}
}

func localGit(o gitOptions, secret string) gitCmd {
	env := append([]string{"PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1",
		"HOME=" + os.DevNull, "GIT_CONFIG_GLOBAL=" + os.DevNull}, commonEnv...)
	return gitCmd{bin: o.git, env: env, secret: secret}
}

// in returns g running on a repository: gitDir, and workTree if not "".
func (g gitCmd) in(gitDir, workTree string) gitCmd {
	g.gitDir, g.workTree = gitDir, workTree
	return g
}

// run runs git with args and returns its standard output. Like BuildKit it
// retries once without --depth=1 when the server cannot do shallow fetches
// (dumb HTTP), and without a commit refspec when the server refuses to
// serve an unadvertised commit.
func (g gitCmd) run(ctx context.Context, args ...string) ([]byte, error) {
	for {
		out, stderr, err := g.runOnce(ctx, args)
		if err == nil {
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("git %s: %w", args[0], context.Cause(ctx))
		}
		if (strings.Contains(stderr, "--depth") || strings.Contains(stderr, "shallow")) && slices.Contains(args, "--depth=1") {
			args = slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "--depth=1" })
			continue
		}
		if (strings.Contains(stderr, "not our ref") || strings.Contains(stderr, "unadvertised object")) &&
			args[0] == "fetch" && len(args) > 2 && isCommitSHA(args[len(args)-1]) {
			args = args[:len(args)-1]
			continue
		}
		msg := strings.TrimSpace(stderr)
		if g.secret != "" {
			msg = strings.ReplaceAll(msg, g.secret, redactURL(g.secret))
		}
		if msg != "" {
			return nil, fmt.Errorf("git %s: %w: %s", args[0], err, msg)
		}
		return nil, fmt.Errorf("git %s: %w", args[0], err)
	}
}

func (g gitCmd) runOnce(ctx context.Context, args []string) (stdout []byte, stderr string, err error) {
	bin := g.bin
	if bin == "" {
		bin = "git"
	}
	// protocol.file.allow=user: a repository cannot make its submodules
	// read local paths (BuildKit passes the same)
	full := []string{"-c", "protocol.file.allow=user", "-c", "advice.detachedHead=false", "-c", "core.autocrlf=false"}
	if g.workTree != "" {
		full = append(full, "--work-tree", g.workTree)
	}
	if g.gitDir != "" {
		full = append(full, "--git-dir", g.gitDir)
	}
	cmd := exec.Command(bin, append(full, args...)...)
	cmd.Env = g.env
	cmd.Dir = g.workTree
	if cmd.Dir == "" {
		cmd.Dir = os.TempDir()
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := runGit(ctx, cmd); err != nil {
		if cmd.ProcessState == nil && (errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist)) {
			return nil, "", fmt.Errorf("%w: %w", ErrGitMissing, err)
		}
		return nil, errb.String(), err
	}
	return out.Bytes(), errb.String(), nil
}

// ErrGitMissing reports that the git binary could not be run.
var ErrGitMissing = errors.New("source: git binary not found")
