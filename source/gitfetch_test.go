package source

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The trees of the fixture's commits, as BuildKit checks them out.
var (
	treeV1 = []string{"- 0644 6 a.txt", "d 0755 dir", "d 0755 dir/deep", "- 0644 5 dir/deep/d.txt",
		"- 0644 2 dir/x.txt", "l link -> a.txt", "- 0755 18 run.sh"}
	treeMain  = append([]string{"- 0644 4 b.txt"}, treeV1...)
	treeOther = append([]string{"- 0644 6 other.txt"}, treeV1...)
	treeDir   = []string{"d 0755 deep", "- 0644 5 deep/d.txt", "- 0644 2 x.txt"}
)

func TestFetchGit(t *testing.T) {
	f := newGitFixture(t, fixtureDate)
	repo := f.url + "/repo.git"
	tests := []struct {
		name string
		src  string
		opts []GitOption
		want []string // outside .git
		// with .git: HEAD's commit and the refs it has
		gitHead string
		gitRefs []string
	}{
		{name: "default branch", src: repo, want: treeMain},
		{name: "branch", src: repo + "#other", want: treeOther},
		{name: "tag", src: repo + "#v1", want: treeV1},
		{name: "annotated tag", src: repo + "#v2", want: treeV1},
		{name: "commit", src: repo + "#" + f.sha["other"], want: treeOther},
		{name: "subdir", src: repo + "#main:dir", want: treeDir},
		{name: "subdir of default branch", src: repo + "#:dir/deep", want: []string{"- 0644 5 d.txt"}},
		{name: "query form", src: repo + "?ref=other&subdir=dir", want: treeDir},
		{name: "checksum", src: repo + "#v2", opts: []GitOption{WithChecksum(f.sha["v2"])}, want: treeV1},
		{name: "fetch by commit", src: repo + "?fetch-by-commit&ref=other&checksum=" + f.sha["other"], want: treeOther},
		{name: "keep-git-dir, branch", src: repo, opts: []GitOption{WithKeepGitDir(true)}, want: treeMain,
			gitHead: f.sha["main"], gitRefs: []string{"refs/heads/main", "refs/tags/main"}},
		{name: "keep-git-dir, tag", src: repo + "#v1", opts: []GitOption{WithKeepGitDir(true)}, want: treeV1,
			gitHead: f.sha["v1"], gitRefs: []string{"refs/heads/v1", "refs/tags/v1"}},
		{name: "keep-git-dir, annotated tag", src: repo + "?keep-git-dir=true#v2", want: treeV1,
			gitHead: f.sha["v2^{}"], gitRefs: []string{"refs/tags/v2"}},
		{name: "keep-git-dir, commit", src: repo + "#" + f.sha["other"], opts: []GitOption{WithKeepGitDir(true)}, want: treeOther,
			gitHead: f.sha["other"]},
		{name: "keep-git-dir with subdir keeps none", src: repo + "#main:dir", opts: []GitOption{WithKeepGitDir(true)}, want: treeDir},
		{name: "submodules", src: f.url + "/withsub.git", want: []string{"- 0644 77 .gitmodules", "d 0755 mods", "d 0755 mods/sub",
			"- 0644 8 mods/sub/s.txt", "- 0644 4 top.txt", ".git file mods/sub/.git"}},
		{name: "no submodules", src: f.url + "/withsub.git?submodules=false", want: []string{"- 0644 77 .gitmodules", "d 0755 mods",
			"d 0755 mods/sub", "- 0644 4 top.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := ResolveGit(context.Background(), tt.src, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(t.TempDir(), "dest")
			start := time.Now().Add(-time.Second)
			if err := FetchGit(context.Background(), ref, dest); err != nil {
				t.Fatal(err)
			}
			end := time.Now().Add(time.Second)
			got := listTree(t, dest, func(p string) bool { return inGitDir(p) || strings.HasSuffix(p, "/.git") })
			if fi, err := os.Lstat(filepath.Join(dest, "mods/sub/.git")); err == nil && fi.Mode().IsRegular() {
				got = append(got, ".git file mods/sub/.git")
			}
			if d := diffLines(tt.want, got); d != "" {
				t.Errorf("checkout of %s differs:\n%s", tt.src, d)
			}
			checkCheckoutTimes(t, dest, start, end)
			checkGitDir(t, f, dest, tt.gitHead, tt.gitRefs)
			if ents, _ := os.ReadDir(filepath.Dir(dest)); len(ents) != 1 {
				t.Errorf("FetchGit left %d entries next to dest, want only dest", len(ents))
			}
		})
	}
}

// checkCheckoutTimes: files get the time of the checkout, not of the commit.
func checkCheckoutTimes(t *testing.T, dir string, start, end time.Time) {
	t.Helper()
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && (fi.ModTime().Before(start) || fi.ModTime().After(end)) {
			t.Errorf("%s: mtime %v is not the checkout time", p, fi.ModTime())
		}
		return err
	})
}

// checkGitDir checks .git: absent when head is "", else a shallow clone
// detached at head with exactly refs, origin the remote.
func checkGitDir(t *testing.T, f *gitFixture, dest, head string, refs []string) {
	t.Helper()
	dotgit := filepath.Join(dest, ".git")
	if head == "" {
		if _, err := os.Lstat(dotgit); err == nil {
			t.Errorf("%s exists", dotgit)
		}
		return
	}
	if got := f.git(dest, "rev-parse", "HEAD"); got != head {
		t.Errorf("HEAD = %s, want %s", got, head)
	}
	if b, _ := os.ReadFile(filepath.Join(dotgit, "HEAD")); strings.TrimSpace(string(b)) != head {
		t.Errorf(".git/HEAD = %q, want a detached HEAD at %s", b, head)
	}
	if got := f.git(dest, "for-each-ref", "--format=%(refname)"); got != strings.Join(refs, "\n") {
		t.Errorf("refs = %q, want %q", got, refs)
	}
	if got := f.git(dest, "remote", "get-url", "origin"); !strings.HasPrefix(got, f.url+"/") {
		t.Errorf("origin = %s", got)
	}
	if got := f.git(dest, "rev-list", "--count", "HEAD"); got != "1" {
		t.Errorf("%s commits in .git, want 1 (a shallow clone)", got)
	}
	if got := f.git(dest, "status", "--porcelain"); got != "" {
		t.Errorf("git status in the checkout:\n%s", got)
	}
	for _, p := range []string{"FETCH_HEAD", "logs/HEAD"} {
		if fi, err := os.Stat(filepath.Join(dotgit, p)); err == nil && fi.Size() > 0 {
			t.Errorf(".git/%s is not empty", p)
		}
	}
}

// TestFetchGitMovedBranch: a GitRef resolved before the branch moved still
// checks out the commit it resolved (the cache key's commit).
func TestFetchGitMovedBranch(t *testing.T) {
	f := newGitFixture(t, fixtureDate)
	src := f.url + "/repo.git#other"
	old, err := ResolveGit(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	w := filepath.Join(t.TempDir(), "w")
	f.git("", "clone", "-q", "-b", "other", filepath.Join(f.root, "repo.git"), w)
	f.write(w, "new.txt", "new\n", 0o644)
	f.git(w, "add", ".")
	f.git(w, "commit", "-qm", "moved")
	f.git(w, "push", "-q", "origin", "other")
	moved, err := ResolveGit(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	if moved.Commit == old.Commit || moved.CacheKey() == old.CacheKey() {
		t.Fatalf("the branch moved but resolves to the same commit %s", moved.Commit)
	}
	for _, keep := range []bool{false, true} {
		ref := old
		ref.KeepGitDir = keep
		dest := filepath.Join(t.TempDir(), "dest")
		if err := FetchGit(context.Background(), ref, dest); err != nil {
			t.Fatal(err)
		}
		got := listTree(t, dest, inGitDir)
		if d := diffLines(treeOther, got); d != "" {
			t.Errorf("keep-git-dir=%v: checkout of the old commit differs:\n%s", keep, d)
		}
		if keep {
			if head := f.git(dest, "rev-parse", "HEAD"); head != old.Commit {
				t.Errorf("HEAD = %s, want %s", head, old.Commit)
			}
		}
	}
}

func TestFetchGitErrors(t *testing.T) {
	f := newGitFixture(t, fixtureDate)
	repo := f.url + "/repo.git"
	tests := []struct {
		name   string
		src    string
		mutate func(*GitRef)
		errHas string
		is     error
	}{
		{name: "subdir missing", src: repo + "#main:nope", errHas: "invalid subdir nope"},
		{name: "subdir is a file", src: repo + "#main:a.txt", errHas: `"a.txt" is not a directory`},
		{name: "subdir through a symlink", src: repo + "#main:link", errHas: `"link" is not a directory`},
		{name: "commit not in the repository", src: repo, mutate: func(r *GitRef) {
			r.Ref, r.FullRef, r.Commit, r.Object = strings.Repeat("1", 40), strings.Repeat("1", 40), strings.Repeat("1", 40), strings.Repeat("1", 40)
		}, errHas: "fetching " + repo},
		{name: "checksum checked again", src: repo, mutate: func(r *GitRef) { r.Checksum = "0000" }, is: ErrGitChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := ResolveGit(context.Background(), tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if tt.mutate != nil {
				tt.mutate(&ref)
			}
			parent := t.TempDir()
			err = FetchGit(context.Background(), ref, filepath.Join(parent, "dest"))
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("FetchGit error = %v, want one containing %q", err, tt.errHas)
			}
			if ents, _ := os.ReadDir(parent); len(ents) != 0 {
				t.Errorf("a failed FetchGit left %d entries behind", len(ents))
			}
		})
	}
	ref, err := ResolveGit(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := FetchGit(context.Background(), ref, t.TempDir()); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("FetchGit into an existing directory: %v", err)
	}
}

// TestGitCancel: cancelling ctx kills git (and its children) at once and a
// cancelled FetchGit leaves nothing behind.
func TestGitCancel(t *testing.T) {
	needGit(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a server that accepts and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	remote := "git://" + ln.Addr().String() + "/repo.git"
	sha := strings.Repeat("a", 40)
	ref := GitRef{Remote: remote, Ref: "main", FullRef: "refs/heads/main", Commit: sha, Object: sha}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := ResolveGit(ctx, remote+"#main"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("ResolveGit on a hanging server: %v, want context.DeadlineExceeded", err)
	}

	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	parent := t.TempDir()
	if err := FetchGit(ctx2, ref, filepath.Join(parent, "dest")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FetchGit on a hanging server: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancelled git took %v to stop", d)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("a cancelled FetchGit left %d entries behind", len(ents))
	}
	if runtime.GOOS == "linux" {
		if kids := childGits(t); len(kids) > 0 {
			t.Errorf("git processes left running: %v", kids)
		}
	}
}

// childGits lists the git processes this test process started in a session
// of their own (as runGit does).
func childGits(t *testing.T) []string {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		comm := s[strings.IndexByte(s, '(')+1 : strings.LastIndexByte(s, ')')]
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 3 && fields[1] == strconv.Itoa(os.Getpid()) && fields[3] == e.Name() && strings.HasPrefix(comm, "git") {
			out = append(out, e.Name()+" "+comm)
		}
	}
	return out
}

// TestFetchGitSHA256 fetches from a sha256 repository (64-hex object names):
// the bare repository and the kept .git use the same object format.
func TestFetchGitSHA256(t *testing.T) {
	f := newGitFixture(t, fixtureDate)
	w := filepath.Join(t.TempDir(), "w")
	f.git("", "init", "-q", "-b", "main", "--object-format=sha256", w)
	f.write(w, "a.txt", "x\n", 0o644)
	f.git(w, "add", ".")
	f.git(w, "commit", "-qm", "c")
	f.git(w, "tag", "-a", "t1", "-m", "t")
	f.bare(w, "s256")
	commit := f.git(w, "rev-parse", "main")
	for _, src := range []string{f.url + "/s256.git", f.url + "/s256.git#t1", f.url + "/s256.git#" + commit} {
		for _, keep := range []bool{false, true} {
			ref, err := ResolveGit(context.Background(), src, WithKeepGitDir(keep))
			if err != nil {
				t.Fatal(err)
			}
			if ref.Commit != commit {
				t.Errorf("%s resolves to %s, want %s", src, ref.Commit, commit)
			}
			dest := filepath.Join(t.TempDir(), "dest")
			if err := FetchGit(context.Background(), ref, dest); err != nil {
				t.Fatalf("%s, keep-git-dir=%v: %v", src, keep, err)
			}
			if d := diffLines([]string{"- 0644 2 a.txt"}, listTree(t, dest, inGitDir)); d != "" {
				t.Errorf("%s, keep-git-dir=%v:\n%s", src, keep, d)
			}
			if keep {
				if head := f.git(dest, "rev-parse", "HEAD"); head != commit {
					t.Errorf("HEAD = %s, want %s", head, commit)
				}
			}
		}
	}
}
