package source

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
)

// gitFixture serves bare repositories over git:// from a directory: a
// listener on a random 127.0.0.1 port, one `git daemon --inetd` per
// connection, so there is no port to guess and no daemon to wait for.
type gitFixture struct {
	t     *testing.T
	root  string // served directory: <root>/<name>.git
	url   string // git://127.0.0.1:<port>
	date  string // author and committer date of every commit
	conns atomic.Int32
	sha   map[string]string // "main", "other", "v1", "v2" (tag object), "v2^{}"
}

const fixtureDate = "2020-01-02T03:04:05Z"

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: the git source needs the git binary")
	}
}

// newGitFixture serves "repo.git" (see makeRepo), "sub.git" and
// "withsub.git" (a submodule mods/sub → sub.git), commits dated date.
func newGitFixture(t *testing.T, date string) *gitFixture {
	t.Helper()
	needGit(t)
	f := &gitFixture{t: t, root: t.TempDir(), date: date, sha: map[string]string{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	f.url = "git://" + ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.conns.Add(1)
			go f.serve(c.(*net.TCPConn))
		}
	}()
	f.makeRepo()
	f.makeWithSub()
	return f
}

func (f *gitFixture) serve(c *net.TCPConn) {
	defer c.Close()
	file, err := c.File()
	if err != nil {
		return
	}
	defer file.Close()
	cmd := exec.Command("git", "daemon", "--inetd", "--export-all", "--informative-errors", "--base-path="+f.root)
	cmd.Stdin, cmd.Stdout = file, file
	cmd.Env = f.env()
	_ = cmd.Run()
}

func (f *gitFixture) env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + f.root, "LC_ALL=C", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@x", "GIT_AUTHOR_DATE=" + f.date,
		"GIT_COMMITTER_DATE=" + f.date, "GIT_PROTOCOL_FROM_USER=1"}
}

// git runs git in dir and returns its trimmed output.
func (f *gitFixture) git(dir string, args ...string) string {
	f.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, f.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (f *gitFixture) write(dir, name, content string, mode os.FileMode) {
	f.t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		f.t.Fatal(err)
	}
}

// makeRepo: main has commits "one" (tags v1, annotated v2) and "two"
// (adds b.txt); branch other forks at "one" and adds other.txt.
func (f *gitFixture) makeRepo() {
	w := filepath.Join(f.t.TempDir(), "repo")
	f.git("", "init", "-q", "-b", "main", w)
	f.write(w, "a.txt", "hello\n", 0o644)
	f.write(w, "dir/deep/d.txt", "deep\n", 0o644)
	f.write(w, "run.sh", "#!/bin/sh\necho hi\n", 0o755)
	f.write(w, "dir/x.txt", "x\n", 0o644)
	if err := os.Symlink("a.txt", filepath.Join(w, "link")); err != nil {
		f.t.Fatal(err)
	}
	f.git(w, "add", ".")
	f.git(w, "commit", "-qm", "one")
	f.git(w, "tag", "v1")
	f.git(w, "tag", "-a", "v2", "-m", "annotated")
	f.git(w, "checkout", "-q", "-b", "other")
	f.write(w, "other.txt", "other\n", 0o644)
	f.git(w, "add", ".")
	f.git(w, "commit", "-qm", "other")
	f.git(w, "checkout", "-q", "main")
	f.write(w, "b.txt", "two\n", 0o644)
	f.git(w, "add", ".")
	f.git(w, "commit", "-qm", "two")
	for _, r := range []string{"main", "other", "v1", "v2", "v2^{}"} {
		f.sha[r] = f.git(w, "rev-parse", r)
	}
	f.bare(w, "repo")
}

// bare publishes the work tree w as <root>/<name>.git.
func (f *gitFixture) bare(w, name string) string {
	p := filepath.Join(f.root, name+".git")
	f.git("", "clone", "-q", "--bare", w, p)
	return p
}

func (f *gitFixture) makeWithSub() {
	s := filepath.Join(f.t.TempDir(), "sub")
	f.git("", "init", "-q", "-b", "main", s)
	f.write(s, "s.txt", "subfile\n", 0o644)
	f.git(s, "add", ".")
	f.git(s, "commit", "-qm", "sub")
	f.bare(s, "sub")
	w := filepath.Join(f.t.TempDir(), "withsub")
	f.git("", "init", "-q", "-b", "main", w)
	f.write(w, "top.txt", "top\n", 0o644)
	f.git(w, "submodule", "add", "-q", f.url+"/sub.git", "mods/sub")
	f.git(w, "add", ".")
	f.git(w, "commit", "-qm", "withsub")
	f.bare(w, "withsub")
}

// listTree lists dir as "d 0755 path", "- 0644 size path", "l path -> target",
// sorted, leaving out paths for which skip returns true.
func listTree(t *testing.T, dir string, skip func(string) bool) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if skip != nil && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, fmt.Sprintf("l %s -> %s", rel, target))
		case fi.IsDir():
			out = append(out, fmt.Sprintf("d %04o %s", fi.Mode().Perm(), rel))
		default:
			out = append(out, fmt.Sprintf("- %04o %d %s", fi.Mode().Perm(), fi.Size(), rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func inGitDir(p string) bool { return p == ".git" || strings.HasPrefix(p, ".git/") }

func diffLines(want, got []string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	for _, l := range got {
		g[l] = true
	}
	var b strings.Builder
	for _, l := range want {
		if !g[l] {
			fmt.Fprintf(&b, "  missing: %s\n", l)
		}
	}
	for _, l := range got {
		if !w[l] {
			fmt.Fprintf(&b, "  extra:   %s\n", l)
		}
	}
	return b.String()
}
