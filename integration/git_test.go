package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// gitServer serves the bare repositories under root over git:// on a
// random local port (one `git daemon --inetd` per connection).
func gitServer(t *testing.T, root string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				f, err := c.(*net.TCPConn).File()
				if err != nil {
					return
				}
				defer f.Close()
				cmd := exec.Command("git", "daemon", "--inetd", "--export-all", "--base-path="+root)
				cmd.Stdin, cmd.Stdout = f, f
				cmd.Run()
			}()
		}
	}()
	return "git://" + ln.Addr().String()
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@x", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@x", "GIT_CONFIG_GLOBAL="+os.DevNull)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestAddGit: ADD of a git repository (branch, tag, subdir, --keep-git-dir,
// --checksum), cached by the commit it resolves to: an unchanged branch
// does not run the step again, a new commit does.
func TestAddGit(t *testing.T) {
	needSetup(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := t.TempDir()
	work := filepath.Join(t.TempDir(), "work")
	os.MkdirAll(filepath.Join(work, "sub"), 0o755)
	gitIn(t, work, "init", "-q", "-b", "main")
	os.WriteFile(filepath.Join(work, "README"), []byte("v1\n"), 0o644)
	os.WriteFile(filepath.Join(work, "sub", "run.sh"), []byte("#!/bin/sh\n"), 0o755)
	gitIn(t, work, "add", ".")
	gitIn(t, work, "commit", "-q", "-m", "one")
	gitIn(t, work, "tag", "v1")
	first := gitIn(t, work, "rev-parse", "HEAD")
	gitIn(t, work, "clone", "-q", "--bare", work, filepath.Join(root, "repo.git"))
	url := gitServer(t, root) + "/repo.git"

	dir := project(t, map[string]string{"Dockerfile": `FROM busybox
ADD ` + url + `#v1:sub /sub
ADD --keep-git-dir=true ` + url + `#v1 /kept
ADD --checksum=` + first[:12] + ` ` + url + `#v1 /pinned
ADD ` + url + `#main /src
`})
	out := filepath.Join(t.TempDir(), "out")
	r := mustKiln(t, "build", "--progress=rawjson", "-o", out, dir)
	read := func(p string) string { b, _ := os.ReadFile(filepath.Join(out, p)); return string(b) }
	if read("src/README") != "v1\n" || read("sub/run.sh") != "#!/bin/sh\n" || read("pinned/README") != "v1\n" {
		t.Errorf("checked out files: %q %q %q", read("src/README"), read("sub/run.sh"), read("pinned/README"))
	}
	if fi, err := os.Stat(filepath.Join(out, "sub/run.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("sub/run.sh mode: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(out, "src/.git")); err == nil {
		t.Error("/src has a .git without --keep-git-dir")
	}
	if _, err := os.Stat(filepath.Join(out, "kept/.git/HEAD")); err != nil {
		t.Errorf("--keep-git-dir kept no .git: %v", err)
	}
	if n := len(ranSteps(r.stderr)); n != 4 {
		t.Errorf("first build ran %d ADD steps, want 4", n)
	}
	// the branch did not move: all cached; a new commit on main reruns /src only
	if r := mustKiln(t, "build", "--progress=rawjson", "-o", out, dir); len(ranSteps(r.stderr)) != 0 {
		t.Errorf("unchanged repository reran %v", ranSteps(r.stderr))
	}
	os.WriteFile(filepath.Join(work, "README"), []byte("v2\n"), 0o644)
	gitIn(t, work, "commit", "-q", "-am", "two")
	gitIn(t, work, "push", "-q", filepath.Join(root, "repo.git"), "main")
	r = mustKiln(t, "build", "--progress=rawjson", "-o", out, dir)
	if ran := strings.Join(ranSteps(r.stderr), ","); ran != "stage-0 5/5" {
		t.Errorf("after a new commit on main ran %q, want only the #main ADD", ran)
	}
	if read("src/README") != "v2\n" {
		t.Errorf("src/README after the push: %q", read("src/README"))
	}
	bad := project(t, map[string]string{"Dockerfile": "FROM busybox\nADD --checksum=deadbeef " + url + "#v1 /x\n"})
	if r := kiln(t, "build", bad); r.code != 1 || !strings.Contains(r.stderr, "Dockerfile:2") {
		t.Errorf("checksum mismatch: %d %s", r.code, r.stderr)
	}
	missing := project(t, map[string]string{"Dockerfile": "FROM busybox\nADD " + url + "#nosuch /x\n"})
	if r := kiln(t, "build", missing); r.code != 1 || !strings.Contains(r.stderr, "nosuch") {
		t.Errorf("unknown ref: %d %s", r.code, r.stderr)
	}
}
