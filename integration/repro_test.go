package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// reproDockerfile makes files at build time in a builder stage, in the
// final stage and copies context files whose mtimes differ between the
// two checkouts.
const reproDockerfile = `FROM busybox AS build
COPY . /src
RUN mkdir -p /out/sub && cp -r /src/* /out/ && echo built > /out/sub/built.txt
FROM busybox
COPY --from=build /out /app
COPY app.conf /etc/app.conf
RUN mkdir /var/app && touch /var/app/stamp && ln -s /app/main.txt /var/app/main
`

// reproBuild builds dir in a fresh store into an OCI archive and returns
// the manifest digest and the config's created time.
func reproBuild(t *testing.T, dir, bb string, args ...string) (digest, created string) {
	t.Helper()
	store := t.TempDir()
	if r := kilnIn(t, store, nil, "load", "-i", bb); r.code != 0 {
		t.Fatal(r.stderr)
	}
	meta := filepath.Join(t.TempDir(), "meta.json")
	full := append([]string{"build", "--progress=plain", "--metadata-file", meta,
		"-o", "type=oci,dest=" + filepath.Join(t.TempDir(), "img.tar"), "-o", "type=image", "-t", "repro:1"}, args...)
	r := kilnIn(t, store, nil, append(full, dir)...)
	if r.code != 0 {
		t.Fatalf("build %v: %s", args, r.stderr)
	}
	var m map[string]any
	b, err := os.ReadFile(meta)
	if err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatalf("metadata: %v %s", err, b)
	}
	img := storedImageIn(t, store, "repro:1")
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return m["containerimage.digest"].(string), cfg.Created.UTC().Format(time.RFC3339)
}

// checkout writes the project as a fresh clone would: same content, the
// files' mtimes the time of the checkout.
func checkout(t *testing.T, mtime time.Time) string {
	t.Helper()
	dir := project(t, map[string]string{"Dockerfile": reproDockerfile, "main.txt": "main\n",
		"lib/util.txt": "util\n", "app.conf": "port=8080\n"})
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chtimes(p, mtime, mtime)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReproducible: with SOURCE_DATE_EPOCH (from the environment, as
// buildx reads it), two fresh stores building two checkouts whose files
// have different mtimes, at different times, give one manifest digest;
// without it they differ. --reproducible takes the epoch from the last git
// commit.
func TestReproducible(t *testing.T) {
	needSetup(t)
	bb := saveBusybox(t)
	now := time.Now()
	a, b := checkout(t, now.Add(-time.Hour)), checkout(t, now)

	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	da, ca := reproBuild(t, a, bb)
	time.Sleep(1100 * time.Millisecond) // RUN's new files get other mtimes
	db, cb := reproBuild(t, b, bb)
	if da != db {
		t.Errorf("SOURCE_DATE_EPOCH: digests differ: %s vs %s", da, db)
	}
	if ca != "2023-11-14T22:13:20Z" || cb != ca {
		t.Errorf("created %s, %s; want the epoch", ca, cb)
	}
	// rewrite-timestamp=false keeps the files' own times: another digest
	if dk, _ := reproBuild(t, b, bb, "-o", "type=image,rewrite-timestamp=false"); dk == da {
		t.Error("rewrite-timestamp=false gave the clamped image")
	}
	os.Unsetenv("SOURCE_DATE_EPOCH")
	if dn, _ := reproBuild(t, a, bb); dn == da {
		t.Error("without SOURCE_DATE_EPOCH the digest is the same: the test proves nothing")
	}

	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	commit := "2024-03-01T12:00:00Z"
	for _, dir := range []string{a, b} {
		for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x"}} {
			cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
			cmd.Env = append(os.Environ(), "GIT_COMMITTER_DATE="+commit, "GIT_AUTHOR_DATE="+commit)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("git %v: %v\n%s", args, err, out)
			}
		}
	}
	ga, gca := reproBuild(t, a, bb, "--reproducible")
	gb, _ := reproBuild(t, b, bb, "--reproducible")
	if ga != gb || gca != commit {
		t.Errorf("--reproducible: digests %s, %s; created %s (want %s)", ga, gb, gca, commit)
	}
	// outside a git work tree: epoch 0
	plain := checkout(t, now)
	if _, c := reproBuild(t, plain, bb, "--reproducible"); c != "1970-01-01T00:00:00Z" {
		t.Errorf("--reproducible without git: created %s, want the epoch 0", c)
	}
}
