package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// FetchGit checks out ref (from ResolveGit) into dest, which must not exist,
// with the git commands BuildKit's git source runs, so the files are those
// BuildKit puts in the image:
//
//   - the commit's tree (or Subdir's contents), with submodules checked out
//     unless SkipSubmodules; directories 0755, files 0644 or 0755 (umask 022
//     whatever kiln's umask), symlinks as symlinks, owned by the caller;
//   - mtimes are the checkout time (BuildKit neither uses commit times for
//     ADD nor resets them); dest's own mtime is that of the last change in it;
//   - no .git, except with KeepGitDir and no Subdir: then .git is a shallow
//     (depth 1) clone, HEAD detached at the commit, origin set to Remote
//     (credentials redacted), reflogs expired, the ref as a local branch or
//     tag as BuildKit leaves it;
//   - a submodule directory holds git's ".git" file pointing at a module
//     directory that is not part of the result (BuildKit's points into its
//     own snapshot store).
//
// The commit checked out is ref.Commit even if the ref has moved since
// ResolveGit. Work happens in a temporary directory next to dest, renamed to
// dest on success and removed otherwise; cancelling ctx kills the git
// processes. Only WithGitEnv applies.
func FetchGit(ctx context.Context, ref GitRef, dest string, opts ...GitOption) (err error) {
	o, err := makeGitOptions(true, opts)
	if err != nil {
		return err
	}
	if ref.Remote == "" || ref.Ref == "" || ref.Object == "" {
		return fmt.Errorf("source: FetchGit needs a GitRef from ResolveGit, got %+v", ref)
	}
	if _, err := os.Lstat(dest); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fetching %s: destination %s already exists", ref, dest)
	}
	work, err := os.MkdirTemp(filepath.Dir(dest), ".kiln-git-")
	if err != nil {
		return fmt.Errorf("fetching %s: %w", ref, err)
	}
	defer func() {
		if rerr := os.RemoveAll(work); rerr != nil && err == nil {
			err = fmt.Errorf("fetching %s: %w", ref, rerr)
		}
	}()
	f := gitFetch{ref: ref, bare: filepath.Join(work, "repo.git"), out: filepath.Join(work, "checkout"),
		remote: remoteGit(o, ref.Remote), local: localGit(o, ref.Remote)}
	if err := f.fetch(ctx); err != nil {
		return fmt.Errorf("fetching %s: %w", ref, err)
	}
	if err := f.checkout(ctx); err != nil {
		return fmt.Errorf("checking out %s: %w", ref, err)
	}
	if err := os.Rename(f.out, dest); err != nil {
		return fmt.Errorf("fetching %s: %w", ref, err)
	}
	return nil
}

// gitFetch is one FetchGit: a bare repository with the commit, then a
// checkout of it. The bare repository is private to this fetch (BuildKit
// keeps one per remote; a fresh one gives what a fresh BuildKit gives).
type gitFetch struct {
	ref           GitRef
	bare, out     string
	remote, local gitCmd
}

// refOrCommit is what names the commit in the bare repository.
func (f *gitFetch) refOrCommit() string {
	if f.ref.FetchByCommit {
		return f.ref.Commit
	}
	return f.ref.Ref
}

// targetRef is where the bare repository keeps the fetched ref: BuildKit
// stores branches under refs/tags/ too ("main" → refs/tags/main), which
// shows in a kept .git.
func (f *gitFetch) targetRef() string {
	if strings.HasPrefix(f.ref.Ref, "refs/tags/") {
		return f.ref.Ref
	}
	return "tags/" + f.ref.Ref
}

func (f *gitFetch) fetch(ctx context.Context) error {
	r, bare := f.ref, f.local.in(f.bare, "")
	init := []string{"-c", "init.defaultBranch=master", "init", "--bare"}
	if len(r.Object) == 64 {
		init = append(init, "--object-format=sha256")
	}
	if _, err := bare.run(ctx, init...); err != nil {
		return err
	}
	if _, err := bare.run(ctx, "remote", "add", "origin", r.Remote); err != nil {
		return err
	}
	fetchRef := f.refOrCommit()
	args := []string{"fetch"}
	if r.FetchByCommit || !isCommitSHA(fetchRef) {
		args = append(args, "--depth=1", "--no-tags")
	} else {
		args = append(args, "--tags")
	}
	args = append(args, "origin")
	if isCommitSHA(r.Ref) {
		args = append(args, r.Ref)
	} else {
		args = append(args, "--force", "--", fetchRef+":"+f.targetRef())
	}
	if _, err := f.remote.in(f.bare, "").run(ctx, args...); err != nil {
		return err
	}
	if isCommitSHA(fetchRef) {
		if _, err := bare.run(ctx, "cat-file", "-e", fetchRef+"^{commit}"); err != nil {
			return fmt.Errorf("the remote has no commit %s", fetchRef)
		}
	}
	got, err := bare.run(ctx, "rev-parse", fetchRef)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(got)) != r.Object {
		if err := f.pin(ctx); err != nil {
			return err
		}
	}
	return f.verifyChecksum(ctx)
}

// pin points the fetched ref back at the resolved object after the remote
// ref has moved since ResolveGit, fetching that object if needed.
func (f *gitFetch) pin(ctx context.Context) error {
	r, bare := f.ref, f.local.in(f.bare, "")
	ref := f.targetRef()
	if !strings.HasPrefix(ref, "refs/") {
		ref = "refs/" + ref
	}
	if _, err := bare.run(ctx, "cat-file", "-e", r.Object); err != nil {
		args := []string{"fetch", "--tags"}
		if _, err := os.Lstat(filepath.Join(f.bare, "shallow")); err == nil {
			args = append(args, "--unshallow")
		}
		if _, err := f.remote.in(f.bare, "").run(ctx, append(args, "origin", r.Object)...); err != nil {
			return err
		}
		if _, err := bare.run(ctx, "cat-file", "-e", r.Object); err != nil {
			return fmt.Errorf("ref %s no longer points at %s and the remote does not have that commit any more", r.Ref, r.Object)
		}
	}
	_, err := bare.run(ctx, "update-ref", "--no-deref", ref, r.Object)
	return err
}

func (f *gitFetch) verifyChecksum(ctx context.Context) error {
	sum := f.ref.Checksum
	if sum == "" {
		return nil
	}
	bare := f.local.in(f.bare, "")
	got, err := bare.run(ctx, "rev-parse", f.refOrCommit())
	if err != nil {
		return err
	}
	sha := strings.TrimSpace(string(got))
	if strings.HasPrefix(sha, sum) {
		return nil
	}
	peeled, err := bare.run(ctx, "rev-parse", f.refOrCommit()+"^{}")
	if err == nil && strings.HasPrefix(strings.TrimSpace(string(peeled)), sum) {
		return nil
	}
	return fmt.Errorf("%w: expected checksum to match %s, got %s", ErrGitChecksum, sum, sha)
}

func (f *gitFetch) checkout(ctx context.Context) error {
	if err := os.Mkdir(f.out, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(f.out, 0o755); err != nil {
		return err
	}
	subdir := strings.TrimPrefix(path.Join("/", f.ref.Subdir), "/")
	gitDir, tree := f.bare, f.out
	if f.ref.KeepGitDir && subdir == "" {
		if err := f.cloneCheckout(ctx); err != nil {
			return err
		}
		gitDir = filepath.Join(f.out, ".git")
	} else {
		if subdir != "" {
			var err error
			if tree, err = os.MkdirTemp(f.out, "checkout"); err != nil {
				return err
			}
		}
		if _, err := f.local.in(f.bare, tree).run(ctx, "checkout", "--no-overlay", f.refOrCommit(), "--", "."); err != nil {
			return err
		}
	}
	if !f.ref.SkipSubmodules {
		if _, err := f.remote.in(gitDir, tree).run(ctx, "submodule", "update", "--init", "--recursive", "--depth=1"); err != nil {
			return fmt.Errorf("updating submodules: %w", err)
		}
	}
	if subdir == "" {
		return nil
	}
	return moveSubdir(tree, filepath.FromSlash(subdir), f.out)
}

// cloneCheckout makes f.out a shallow clone of the bare repository, as
// BuildKit does for --keep-git-dir.
func (f *gitFetch) cloneCheckout(ctx context.Context) error {
	r, bare := f.ref, f.local.in(f.bare, "")
	git := f.local.in(filepath.Join(f.out, ".git"), f.out)
	init := []string{"-c", "init.defaultBranch=master", "init"}
	if len(r.Object) == 64 {
		init = append(init, "--object-format=sha256")
	}
	if _, err := git.run(ctx, init...); err != nil {
		return err
	}
	// file:// rather than a path: no local-clone shortcuts (hard links)
	if _, err := git.run(ctx, "remote", "add", "origin", "file://"+f.bare); err != nil {
		return err
	}
	typ, err := bare.run(ctx, "cat-file", "-t", f.refOrCommit())
	if err != nil {
		return err
	}
	pull := r.Ref
	switch {
	case strings.TrimSpace(string(typ)) == "tag":
		if strings.HasPrefix(pull, "refs/tags/") {
			pull += ":" + pull
		} else {
			pull += ":refs/tags/" + pull
		}
	case r.FetchByCommit && r.Ref != r.Commit:
		pull = r.Commit + ":" + r.Ref
	case isCommitSHA(r.Ref):
		// a ref only the bare repository has, fetched without a local name
		pull = "refs/kiln/checkout"
		if _, err := bare.run(ctx, "update-ref", pull, r.Ref); err != nil {
			return err
		}
	default:
		pull += ":" + pull
	}
	for _, args := range [][]string{
		{"fetch", "-u", "--depth=1", "--", "origin", pull},
		{"checkout", "FETCH_HEAD"},
		{"remote", "set-url", "origin", redactURL(r.Remote)},
		{"reflog", "expire", "--all", "--expire=now"},
	} {
		if _, err := git.run(ctx, args...); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(f.out, ".git", "FETCH_HEAD")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// moveSubdir moves the entries of tree/subdir into out and removes tree.
// subdir must be directories all the way, no symlinks (as in BuildKit).
func moveSubdir(tree, subdir, out string) error {
	root, err := os.OpenRoot(tree)
	if err != nil {
		return err
	}
	defer root.Close()
	p := ""
	for part := range strings.SplitSeq(subdir, string(filepath.Separator)) {
		p = filepath.Join(p, part)
		fi, err := root.Lstat(p)
		if err != nil {
			return fmt.Errorf("invalid subdir %s: %w", subdir, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("invalid subdir %s: %q is not a directory", subdir, p)
		}
	}
	d, err := root.Open(subdir)
	if err != nil {
		return fmt.Errorf("invalid subdir %s: %w", subdir, err)
	}
	names, err := d.Readdirnames(0)
	d.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(tree, subdir, n), filepath.Join(out, n)); err != nil {
			return err
		}
	}
	return os.RemoveAll(tree)
}
