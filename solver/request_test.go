package solver_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/solver"
)

// TestContextVCS: a context in a git work tree is described as buildx
// describes it to BuildKit (commit, remote without credentials, the
// directories relative to the top); outside one, not at all.
func TestContextVCS(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	top := t.TempDir()
	sub := filepath.Join(top, "app")
	os.MkdirAll(filepath.Join(sub, "docker"), 0o755)
	os.WriteFile(filepath.Join(sub, "docker", "Dockerfile"), []byte("FROM scratch\n"), 0o644)
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", top}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+top)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("remote", "add", "origin", "https://builder:s3cret@git.example/team/app.git")
	git("add", ".")
	git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "x")
	head := git("rev-parse", "HEAD")

	got := solver.ContextVCS(context.Background(), solver.Request{ContextDir: sub, Dockerfile: "docker/Dockerfile"})
	want := map[string]string{"revision": head, "source": "https://git.example/team/app.git", "localdir:context": "app",
		"localdir:dockerfile": "app/docker"}
	if len(got) != len(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if got := solver.ContextVCS(context.Background(), solver.Request{ContextDir: t.TempDir()}); len(got) != 0 {
		t.Errorf("outside git: %v", got)
	}
}
