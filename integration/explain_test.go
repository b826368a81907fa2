package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const leakyDockerfile = `FROM busybox AS build
WORKDIR /src
COPY . .
RUN mkdir -p /root/.cache/pip .git /out && echo cached > /root/.cache/pip/wheel && echo ref > .git/HEAD && \
    printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n' > /root/id_ed25519 && \
    echo app > /out/app
FROM busybox
COPY --from=build / /
COPY . /context
CMD ["/out/app"]
`

const cleanDockerfile = `FROM busybox AS build
WORKDIR /src
COPY main.txt .
RUN mkdir -p /root/.cache/pip /out && echo cached > /root/.cache/pip/wheel && cp main.txt /out/app
FROM busybox
COPY --from=build /out/app /app
CMD ["/app"]
`

// TestLeakWarnings: a leaky multi-stage build warns after the build (rule,
// line, paths, fix), kiln explain --last shows the image by stage in
// table, JSON and HTML, --check reports the rules the Dockerfile alone
// decides; a clean multi-stage build warns of nothing.
func TestLeakWarnings(t *testing.T) {
	needSetup(t)
	leaky := project(t, map[string]string{"Dockerfile": leakyDockerfile, "main.txt": "main\n", ".env": "TOKEN=x\n"})
	r := mustKiln(t, "build", "--progress=plain", "-t", "leaky:1", leaky)
	for _, want := range []string{"leak warnings", "WARNING WholeStageCopied (Dockerfile:8)", "WARNING BuildCacheShipped (Dockerfile:8)",
		"/root/.cache/pip", "WARNING VCSDirShipped (Dockerfile:8)", "/src/.git", "WARNING SecretShipped (Dockerfile:8)", "/root/id_ed25519",
		"WARNING SecretShipped (Dockerfile:9)", "/context/.env", "WARNING ContextCopiedWhole (Dockerfile:9)", "fix: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("leaky build: no %q in\n%s", want, r.stderr)
		}
	}

	var rep struct {
		Image  string `json:"image"`
		Layers []struct {
			Stage, Instruction, FromStage string
			TopPaths                      []struct{ Path string } `json:"top_paths"`
		} `json:"layers"`
		Stages   []struct{ Name string } `json:"stages"`
		Warnings []struct {
			Rule  string   `json:"rule"`
			Paths []string `json:"paths"`
			Layer int      `json:"layer"`
		} `json:"warnings"`
	}
	j := mustKiln(t, "explain", "--last", "--format", "json")
	if err := json.Unmarshal([]byte(j.stdout), &rep); err != nil {
		t.Fatalf("explain --format json: %v\n%s", err, j.stdout)
	}
	var rules []string
	for _, w := range rep.Warnings {
		rules = append(rules, w.Rule)
	}
	sort.Strings(rules)
	if got := strings.Join(rules, " "); got != "BuildCacheShipped ContextCopiedWhole SecretShipped SecretShipped VCSDirShipped WholeStageCopied" {
		t.Errorf("json warnings: %s", got)
	}
	if len(rep.Layers) < 3 || len(rep.Stages) < 2 {
		t.Errorf("json: %d layers, %d stages\n%s", len(rep.Layers), len(rep.Stages), j.stdout)
	}
	table := mustKiln(t, "explain", "leaky:1")
	for _, want := range []string{"STAGE", "build", "COPY --from=build / /", "SHIPPED"} {
		if !strings.Contains(table.stdout, want) {
			t.Errorf("explain table: no %q in\n%s", want, table.stdout)
		}
	}
	page := filepath.Join(t.TempDir(), "leaky.html")
	mustKiln(t, "explain", "--last", "--format", "html", "-o", page)
	if b, err := os.ReadFile(page); err != nil || !strings.Contains(string(b), "<svg") ||
		strings.Contains(strings.ReplaceAll(string(b), "http://www.w3.org/2000/svg", ""), "://") {
		t.Errorf("explain --format html: %v, %d bytes", err, len(b))
	}

	c := kiln(t, "build", "--check", leaky)
	if c.code != 1 || !strings.Contains(c.stdout, "WARNING: WholeStageCopied") || !strings.Contains(c.stdout, "WARNING: ContextCopiedWhole") {
		t.Errorf("--check of the leaky Dockerfile: exit %d\n%s%s", c.code, c.stdout, c.stderr)
	}
	if c := kiln(t, "build", "--check", "--no-leak-check", leaky); c.code != 0 {
		t.Errorf("--check --no-leak-check: exit %d\n%s", c.code, c.stdout)
	}

	clean := project(t, map[string]string{"Dockerfile": cleanDockerfile, "main.txt": "main\n", ".env": "TOKEN=x\n"})
	r = mustKiln(t, "build", "--progress=plain", "-t", "clean:1", clean)
	if strings.Contains(r.stderr, "leak") || strings.Contains(r.stderr, "WARNING") {
		t.Errorf("clean build warned:\n%s", r.stderr)
	}
	if c := kiln(t, "build", "--check", clean); c.code != 0 {
		t.Errorf("--check of the clean Dockerfile: exit %d\n%s", c.code, c.stdout)
	}
	if r := kiln(t, "explain", "--format", "yaml", "clean:1"); r.code == 0 || !strings.Contains(r.stderr, "--format=yaml") {
		t.Errorf("bad --format: %d %s", r.code, r.stderr)
	}
}
