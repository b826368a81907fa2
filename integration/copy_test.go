package integration

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCopySemantics: dest rules, wildcards, ownership and modes, links,
// empty dirs, .dockerignore and ADD extraction, on a real build.
// copySteps is the body of TestCopySemantics' Dockerfile; a last line is
// added per build.
const copySteps = `FROM busybox
WORKDIR /w
COPY a.txt .
COPY a.txt renamed.txt
COPY *.go /src/
COPY dir /copied-dir
COPY --chown=app:extra --chmod=640 a.txt /owned.txt
COPY --chown=1234 dir/sub /numeric/
COPY sym /via-sym
ADD bundle.tar.gz /unpacked/
`

func TestCopySemantics(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{
		"Dockerfile":    copySteps + "COPY ignored.log keep.log /logs/\n",
		"a.txt":         "a\n",
		"x.go":          "package x\n",
		"y.go":          "package y\n",
		"dir/sub/f.txt": "f\n",
		"dir/top.txt":   "t\n",
		"ignored.log":   "should not be copied\n",
		"keep.log":      "kept\n",
		".dockerignore": "*.log\n!keep.log\nsecret/\n",
		"secret/key":    "k\n",
	})
	os.MkdirAll(filepath.Join(dir, "dir/empty"), 0o755)
	os.Symlink("a.txt", filepath.Join(dir, "sym"))
	os.Chmod(filepath.Join(dir, "x.go"), 0o755)
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(dir, "a.txt"), old, old)
	makeTarGz(t, filepath.Join(dir, "bundle.tar.gz"), map[string]string{"inner/file.txt": "inner\n"})

	r := kiln(t, "build", "-t", "copy:1", dir)
	if r.code == 0 {
		t.Fatalf("COPY of an ignored file succeeded:\n%s", r.stderr)
	}
	// now without the ignored source
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(copySteps+"COPY . /ctx/\n"), 0o644)
	mustKiln(t, "build", "-t", "copy:1", dir)
	f := flatten(t, storedImage(t, "copy:1"))
	expect := map[string]func(entry) bool{
		"w/a.txt":                 func(e entry) bool { return e.body == "a\n" && e.uid == 0 && e.mode == 0o644 },
		"w/renamed.txt":           func(e entry) bool { return e.body == "a\n" },
		"src/x.go":                func(e entry) bool { return e.mode == 0o755 },
		"src/y.go":                func(e entry) bool { return e.body == "package y\n" },
		"copied-dir/top.txt":      func(e entry) bool { return e.body == "t\n" },
		"copied-dir/sub/f.txt":    func(e entry) bool { return e.body == "f\n" },
		"copied-dir/empty":        func(e entry) bool { return e.typ == '5' },
		"owned.txt":               func(e entry) bool { return e.uid == 1000 && e.gid == 2000 && e.mode == 0o640 },
		"numeric/f.txt":           func(e entry) bool { return e.uid == 1234 && e.gid == 1234 },
		"via-sym":                 func(e entry) bool { return e.typ == '0' && e.body == "a\n" },
		"unpacked/inner/file.txt": func(e entry) bool { return e.body == "inner\n" },
		"ctx/keep.log":            func(e entry) bool { return e.body == "kept\n" },
		"ctx/sym":                 func(e entry) bool { return e.typ == '2' && e.link == "a.txt" },
	}
	for p, ok := range expect {
		e, present := f[p]
		if !present || !ok(e) {
			t.Errorf("%s: present=%v %+v", p, present, e)
		}
	}
	for _, p := range []string{"ctx/ignored.log", "ctx/secret/key", "ctx/secret", "src/a.txt"} {
		if _, present := f[p]; present {
			t.Errorf("%s should not be in the image", p)
		}
	}
}

// TestDockerfileSpecificIgnore: <Dockerfile>.dockerignore wins over the
// context's .dockerignore.
func TestDockerfileSpecificIgnore(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{
		"build.Dockerfile":              "FROM scratch\nCOPY . /\n",
		"build.Dockerfile.dockerignore": "b.txt\n",
		".dockerignore":                 "a.txt\n",
		"a.txt":                         "a", "b.txt": "b",
	})
	mustKiln(t, "build", "-t", "ign:1", "-f", filepath.Join(dir, "build.Dockerfile"), dir)
	f := flatten(t, storedImage(t, "ign:1"))
	if _, ok := f["a.txt"]; !ok {
		t.Error("a.txt excluded by the context's .dockerignore, which should not apply")
	}
	if _, ok := f["b.txt"]; ok {
		t.Error("b.txt not excluded by build.Dockerfile.dockerignore")
	}
}
