package source

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// conformanceEnv is where conformance/setup.sh records the reference buildkitd.
const conformanceEnv = "/var/cache/kiln-conformance/env"

// buildkit returns buildctl and the buildkitd address, from $BUILDCTL and
// $BUILDKIT_ADDR or conformanceEnv, skipping the test when there is none.
func buildkit(t *testing.T) (buildctl, addr string) {
	t.Helper()
	vars := map[string]string{}
	if b, err := os.ReadFile(conformanceEnv); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok {
				vars[k] = v
			}
		}
	}
	for _, k := range []string{"BUILDCTL", "BUILDKIT_ADDR"} {
		if v := os.Getenv(k); v != "" {
			vars[k] = v
		}
	}
	buildctl, addr = vars["BUILDCTL"], vars["BUILDKIT_ADDR"]
	if buildctl == "" || addr == "" {
		t.Skipf("no reference buildkitd: set BUILDCTL and BUILDKIT_ADDR or run conformance/setup.sh (%s)", conformanceEnv)
	}
	if out, err := exec.Command(buildctl, "--addr", addr, "debug", "workers").CombinedOutput(); err != nil {
		t.Skipf("reference buildkitd at %s is not answering: %v\n%s", addr, err, out)
	}
	return buildctl, addr
}

// TestGitMatchesBuildKit checks FetchGit against BuildKit: for each case,
// the reference buildkitd builds `FROM scratch` + `ADD <git URL> /src` (tar
// output) and FetchGit checks out the same URL; the two trees must have the
// same paths, types, modes, sizes, symlink targets and contents (.git
// included), and both must carry checkout-time mtimes. Every run makes
// commits dated now and serves each case under its own repository name, so
// BuildKit's per-remote repository and per-commit checkouts start fresh,
// as kiln's do.
func TestGitMatchesBuildKit(t *testing.T) {
	buildctl, addr := buildkit(t)
	// an hour old: checkout times and commit times are told apart
	testStart := time.Now().Truncate(time.Second)
	f := newGitFixture(t, testStart.Add(-time.Hour).UTC().Format(time.RFC3339))
	tests := []struct{ name, repo, flags, frag string }{
		{name: "default", repo: "repo"},
		{name: "branch", repo: "repo", frag: "#other"},
		{name: "tag", repo: "repo", frag: "#v1"},
		{name: "annotated", repo: "repo", frag: "#v2"},
		{name: "commit", repo: "repo", frag: "#" + f.sha["other"]},
		{name: "subdir", repo: "repo", frag: "#main:dir"},
		{name: "query", repo: "repo", frag: "?ref=other&subdir=dir/deep"},
		{name: "checksum", repo: "repo", flags: "--checksum=" + f.sha["v2^{}"], frag: "#v2"},
		{name: "keep-default", repo: "repo", flags: "--keep-git-dir=true"},
		{name: "keep-tag", repo: "repo", flags: "--keep-git-dir=true", frag: "#v1"},
		{name: "keep-annotated", repo: "repo", flags: "--keep-git-dir=true", frag: "#v2"},
		{name: "keep-commit", repo: "repo", flags: "--keep-git-dir=true", frag: "#" + f.sha["other"]},
		{name: "keep-subdir", repo: "repo", flags: "--keep-git-dir=true", frag: "#other:dir"},
		{name: "submodules", repo: "withsub"},
		{name: "keep-submodules", repo: "withsub", flags: "--keep-git-dir=true"},
		{name: "no-submodules", repo: "withsub", frag: "?submodules=false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.git("", "clone", "-q", "--bare", filepath.Join(f.root, tt.repo+".git"), filepath.Join(f.root, tt.name+".git"))
			src := f.url + "/" + tt.name + ".git" + tt.frag
			bk, bkEnd := buildKitADD(t, buildctl, addr, tt.flags, src)

			var opts []GitOption
			if strings.Contains(tt.flags, "--keep-git-dir=true") {
				opts = append(opts, WithKeepGitDir(true))
			}
			if sum, ok := strings.CutPrefix(tt.flags, "--checksum="); ok {
				opts = append(opts, WithChecksum(sum))
			}
			ref, err := ResolveGit(context.Background(), src, opts...)
			if err != nil {
				t.Fatal(err)
			}
			dest := filepath.Join(t.TempDir(), "src")
			start := time.Now().Truncate(time.Second)
			if err := FetchGit(context.Background(), ref, dest); err != nil {
				t.Fatal(err)
			}
			kiln := dirTree(t, dest)
			end := time.Now()

			if d := diffLines(bk.lines(), kiln.lines()); d != "" {
				t.Errorf("FetchGit and BuildKit differ for ADD %s %s:\n%s", tt.flags, src, d)
			}
			bk.checkTimes(t, "BuildKit", testStart, bkEnd)
			kiln.checkTimes(t, "kiln", start, end)
		})
	}
}

// tree is a checkout as "type mode size path" lines with contents and mtimes.
type tree map[string]treeEntry

type treeEntry struct {
	line    string
	content string
	mtime   time.Time
}

// volatile files differ between any two checkouts: stat data (index), the
// time and user in reflogs, and a submodule's pointer to its git directory,
// which is outside the result (BuildKit's names its snapshot store).
func volatile(p string) bool {
	base := path.Base(p)
	return base == "index" && strings.Contains(p, ".git/") || strings.Contains(p, ".git/modules/") && strings.Contains(p, "/logs/") ||
		base == ".git" && p != ".git"
}

func (tr tree) lines() []string {
	var out []string
	for p, e := range tr {
		out = append(out, e.line)
		if e.content != "" && !volatile(p) {
			out = append(out, fmt.Sprintf("  content %s %q", p, e.content))
		}
	}
	return out
}

func (tr tree) checkTimes(t *testing.T, who string, start, end time.Time) {
	t.Helper()
	for p, e := range tr {
		if e.mtime.Before(start.Add(-time.Second)) || e.mtime.After(end.Add(time.Second)) {
			t.Errorf("%s: %s has mtime %v, not the checkout time (%v to %v)", who, p, e.mtime, start, end)
		}
	}
}

func entryLine(typ byte, mode int64, size int64, p, link string) string {
	switch typ {
	case 'd':
		return fmt.Sprintf("d %04o %s", mode, p)
	case 'l':
		return fmt.Sprintf("l %s -> %s", p, link)
	}
	if volatile(p) {
		return fmt.Sprintf("- %04o ? %s", mode, p)
	}
	return fmt.Sprintf("- %04o %d %s", mode, size, p)
}

// buildKitADD runs `ADD flags src /src` in BuildKit and returns /src.
func buildKitADD(t *testing.T, buildctl, addr, flags, src string) (tree, time.Time) {
	t.Helper()
	dir := t.TempDir()
	df := fmt.Sprintf("FROM scratch\nADD %s %s /src\n", flags, src)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.tar")
	// --no-cache: BuildKit's ADD is cached by content, and would give an
	// earlier run's files (and mtimes) for the same content
	cmd := exec.Command(buildctl, "--addr", addr, "build", "--no-cache", "--progress=plain", "--frontend", "dockerfile.v0",
		"--local", "context="+dir, "--local", "dockerfile="+dir, "--output", "type=tar,dest="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buildctl build: %v\n%s", err, b)
	}
	end := time.Now()
	file, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	tr := tree{}
	r := tar.NewReader(file)
	for {
		h, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p, ok := strings.CutPrefix(strings.TrimSuffix(h.Name, "/"), "src/")
		if h.Name == "src/" {
			p, ok = ".", true
		}
		if !ok {
			continue
		}
		e := treeEntry{mtime: h.ModTime}
		switch h.Typeflag {
		case tar.TypeDir:
			e.line = entryLine('d', h.Mode&0o7777, 0, p, "")
		case tar.TypeSymlink:
			e.line = entryLine('l', 0, 0, p, h.Linkname)
		case tar.TypeReg:
			e.line = entryLine('-', h.Mode&0o7777, h.Size, p, "")
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			e.content = string(b)
		default:
			e.line = fmt.Sprintf("type %c %s", h.Typeflag, p)
		}
		tr[p] = e
	}
	return tr, end
}

// dirTree reads a FetchGit checkout like buildKitADD reads BuildKit's.
func dirTree(t *testing.T, dir string) tree {
	t.Helper()
	tr := tree{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		e := treeEntry{mtime: fi.ModTime()}
		mode := int64(fi.Mode().Perm())
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.line = entryLine('l', 0, 0, rel, link)
		case fi.IsDir():
			e.line = entryLine('d', mode, 0, rel, "")
		case fi.Mode().IsRegular():
			e.line = entryLine('-', mode, fi.Size(), rel, "")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.content = string(b)
		default:
			e.line = fmt.Sprintf("type %v %s", fi.Mode().Type(), rel)
		}
		tr[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
