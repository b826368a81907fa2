package source

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrGitRefNotFound reports a ref the repository does not have.
var ErrGitRefNotFound = errors.New("source: git ref not found")

// ErrGitChecksum reports a ref that does not resolve to the expected commit.
var ErrGitChecksum = errors.New("source: git checksum mismatch")

// GitRef is a git source resolved to a commit: all FetchGit needs, and the
// checkout's cache identity. It is plain data and may be stored. A git
// source goes through two steps, like BuildKit's git source:
//
//	ref, err := source.ResolveGit(ctx, "https://host/repo.git#main:docs",
//		source.WithKeepGitDir(keep), source.WithChecksum(sum)) // ADD's flags
//	// one `git ls-remote`, no objects fetched: ref.Commit is where main is now
//	key := ref.CacheKey() // an ADD cached under this key is still valid
//	err = source.FetchGit(ctx, ref, tmp) // on a cache miss only
//
// FetchGit checks out exactly ref.Commit, even if the branch has moved on
// since ResolveGit.
type GitRef struct {
	// Remote is the repository URL handed to git (GitURL.Remote).
	Remote string
	// Ref is what is fetched: the ref as written, the default branch's name
	// ("main") when none was, or a full commit sha.
	Ref string
	// FullRef is the ref the remote matched ("refs/heads/main",
	// "refs/tags/v1"), or the commit sha when Ref is one.
	FullRef string
	// Commit is the commit checked out (an annotated tag's target).
	Commit string
	// Object is what FullRef names: Commit, or an annotated tag object.
	Object string
	// Subdir is the directory of the repository to check out ("" for all).
	Subdir string
	// Checksum is the verified prefix of Commit or Object, "" if none was given.
	Checksum string
	// KeepGitDir keeps a .git directory in the checkout (only without Subdir).
	KeepGitDir bool
	// SkipSubmodules leaves submodules out.
	SkipSubmodules bool
	// FetchByCommit fetches Commit directly rather than Ref.
	FetchByCommit bool
}

// CacheKey identifies the checkout FetchGit produces for r, as BuildKit's
// git source keys it: the commit (the tag object when .git is kept, since
// the tag is then part of the result), the ref when .git is kept, the subdir
// and the submodule choice. The remote is not part of it: a commit is
// the same content wherever it is fetched from.
func (r GitRef) CacheKey() string {
	key := r.Commit
	if r.KeepGitDir {
		key = r.Object + ".git#" + r.FullRef
	}
	if r.Subdir != "" {
		key += ":" + r.Subdir
	}
	if r.SkipSubmodules {
		key += "(skip-submodules)"
	}
	return key
}

// String is the source in BuildKit's fragment form, credentials redacted.
func (r GitRef) String() string {
	s := redactURL(r.Remote)
	if r.Ref != "" || r.Subdir != "" {
		s += "#" + r.Ref
		if r.Subdir != "" {
			s += ":" + r.Subdir
		}
	}
	return s
}

// GitOption configures ResolveGit and FetchGit.
type GitOption func(*gitOptions)

type gitOptions struct {
	keepGitDir *bool
	checksum   string
	env        []string
	git        string
}

// WithKeepGitDir is ADD --keep-git-dir: keep the .git directory. It must
// agree with the URL's ?keep-git-dir= if both are given. ResolveGit only.
func WithKeepGitDir(keep bool) GitOption { return func(o *gitOptions) { o.keepGitDir = &keep } }

// WithChecksum is ADD --checksum for a git source: a hex prefix of the
// commit (or annotated tag object) the ref must resolve to. It must agree
// with the URL's ?checksum= if both are given. "" means none. ResolveGit only.
func WithChecksum(sum string) GitOption { return func(o *gitOptions) { o.checksum = sum } }

// WithGitEnv adds "KEY=value" variables to the environment of the git
// commands that reach the remote (e.g. SSH_AUTH_SOCK, GIT_SSH_COMMAND).
func WithGitEnv(env ...string) GitOption {
	return func(o *gitOptions) { o.env = append(o.env, env...) }
}

// withGitBinary runs another git binary (a test seam).
func withGitBinary(path string) GitOption { return func(o *gitOptions) { o.git = path } }

func makeGitOptions(fetch bool, opts []GitOption) (gitOptions, error) {
	var o gitOptions
	for _, opt := range opts {
		opt(&o)
	}
	if fetch && (o.keepGitDir != nil || o.checksum != "") {
		return o, errors.New("source: WithKeepGitDir and WithChecksum are ResolveGit options; FetchGit takes them from the GitRef")
	}
	for _, kv := range o.env {
		if !strings.Contains(kv, "=") {
			return o, fmt.Errorf("source: WithGitEnv(%q): not KEY=value", kv)
		}
	}
	return o, nil
}

// ResolveGit parses src (see ParseGit) and resolves its ref to a commit with
// one `git ls-remote`, fetching no objects; a full commit sha, or
// ?fetch-by-commit, needs no network at all. It fails with ErrNotGit for a
// source that is not a git URL, ErrGitRefNotFound for a ref the repository
// lacks, ErrGitChecksum when the checksum does not match.
func ResolveGit(ctx context.Context, src string, opts ...GitOption) (GitRef, error) {
	o, err := makeGitOptions(false, opts)
	if err != nil {
		return GitRef{}, err
	}
	u, err := ParseGit(src)
	if err != nil {
		return GitRef{}, err
	}
	r, err := u.ref(o)
	if err != nil {
		return GitRef{}, fmt.Errorf("git source %s: %w", redactURL(src), err)
	}
	switch {
	case isCommitSHA(r.Ref):
		if r.Checksum != "" && !strings.HasPrefix(r.Ref, r.Checksum) {
			return GitRef{}, fmt.Errorf("%w: expected checksum to match %s, got %s (%s)", ErrGitChecksum, r.Checksum, r.Ref, r)
		}
		r.FullRef, r.Commit, r.Object = r.Ref, r.Ref, r.Ref
	case r.FetchByCommit:
		if r.Checksum == "" || !isCommitSHA(r.Checksum) {
			return GitRef{}, fmt.Errorf("git source %s: fetch-by-commit requires a full commit SHA checksum, got %q", r, r.Checksum)
		}
		if r.Ref != "" && !strings.HasPrefix(r.Ref, "refs/") {
			r.Ref = "refs/heads/" + r.Ref
		}
		if r.Ref == "" {
			r.Ref = r.Checksum
		}
		r.FullRef, r.Commit, r.Object = r.Ref, r.Checksum, r.Checksum
	default:
		if err := lsRemote(ctx, remoteGit(o, r.Remote), &r); err != nil {
			return GitRef{}, err
		}
	}
	return r, nil
}

// ref merges the ADD flags into u, with the Dockerfile frontend's checks.
func (u GitURL) ref(o gitOptions) (GitRef, error) {
	r := GitRef{Remote: u.Remote, Ref: u.Ref, Subdir: u.Subdir, Checksum: u.Checksum,
		SkipSubmodules: u.SkipSubmodules, FetchByCommit: u.FetchByCommit}
	if o.keepGitDir != nil && u.KeepGitDir != nil && *o.keepGitDir != *u.KeepGitDir {
		return r, errors.New("inconsistent keep-git-dir configuration")
	}
	r.KeepGitDir = o.keepGitDir != nil && *o.keepGitDir || u.KeepGitDir != nil && *u.KeepGitDir
	if o.checksum != "" && u.Checksum != "" && o.checksum != u.Checksum {
		return r, fmt.Errorf("checksum mismatch %q != %q", o.checksum, u.Checksum)
	}
	if o.checksum != "" {
		r.Checksum = o.checksum
	}
	if r.Checksum != "" && !hexRe.MatchString(r.Checksum) {
		return r, fmt.Errorf("invalid checksum %s for Git URL, expected hex commit hash", r.Checksum)
	}
	if strings.HasPrefix(r.Ref, "-") {
		return r, fmt.Errorf("invalid git ref %q", r.Ref)
	}
	return r, nil
}

var defaultBranchRe = regexp.MustCompile(`refs/heads/(\S+)`)

// lsRemote resolves r.Ref (the default branch if "") as BuildKit does: an
// exact refs/… match first, then a branch, then a tag (peeled if annotated).
func lsRemote(ctx context.Context, git gitCmd, r *GitRef) error {
	if r.Ref == "" {
		out, err := git.run(ctx, "ls-remote", "--symref", r.Remote, "HEAD")
		if err != nil {
			return fmt.Errorf("finding the default branch of %s: %w", redactURL(r.Remote), err)
		}
		m := defaultBranchRe.FindSubmatch(out)
		if m == nil || strings.HasPrefix(string(m[1]), "-") {
			return fmt.Errorf("%w: could not find the default branch of %s", ErrGitRefNotFound, redactURL(r.Remote))
		}
		r.Ref = string(m[1])
	}
	out, err := git.run(ctx, "ls-remote", "--", r.Remote, r.Ref, r.Ref+"^{}")
	if err != nil {
		return fmt.Errorf("resolving %s: %w", r, err)
	}
	var (
		exact   = "refs/" + strings.TrimPrefix(r.Ref, "refs/")
		head    = "refs/heads/" + strings.TrimPrefix(r.Ref, "refs/heads/")
		tag     = "refs/tags/" + strings.TrimPrefix(r.Ref, "refs/tags/")
		shas    = map[string]string{}
		peeled  string
		sha     string
		matched string
	)
	for line := range strings.SplitSeq(string(out), "\n") {
		s, name, _ := strings.Cut(line, "\t")
		shas[name] = s
	}
	for _, name := range []string{exact, head, tag} {
		if s := shas[name]; s != "" {
			sha, matched = s, name
			break
		}
	}
	if matched == tag {
		peeled = shas[tag+"^{}"]
	}
	if sha == "" {
		return fmt.Errorf("%w: repository %s does not contain ref %q", ErrGitRefNotFound, redactURL(r.Remote), r.Ref)
	}
	if !isCommitSHA(sha) {
		return fmt.Errorf("resolving %s: invalid commit sha %q", r, sha)
	}
	r.FullRef, r.Object, r.Commit = matched, sha, sha
	if peeled != "" {
		r.Commit = peeled
	}
	if r.Checksum != "" && !strings.HasPrefix(r.Object, r.Checksum) && !strings.HasPrefix(peeled, r.Checksum) {
		got := r.Object
		if peeled != "" {
			got += " or " + peeled
		}
		return fmt.Errorf("%w: expected checksum to match %s, got %s (%s)", ErrGitChecksum, r.Checksum, got, r)
	}
	return nil
}
