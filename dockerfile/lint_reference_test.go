package dockerfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestLintReference runs each lint case through a real buildkitd and wants
// the same report: `buildctl build --opt requestid=frontend.lint` (what
// `docker build --check` asks for) against PrintTo, and the WARN lines of a
// real build against Lint with ForBuild. It needs KILN_LINT_REFERENCE=1 and
// the conformance environment (/var/cache/kiln-conformance/env: BUILDCTL,
// BUILDKIT_ADDR, and the registry with busybox).
func TestLintReference(t *testing.T) {
	if os.Getenv("KILN_LINT_REFERENCE") != "1" {
		t.Skip("set KILN_LINT_REFERENCE=1 to compare with buildkitd")
	}
	env := conformanceEnv(t)
	for _, tc := range lintCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeCase(t, tc)
			res := runLint(t, tc, registryConfig)
			var got bytes.Buffer
			if err := res.PrintTo(&got); err != nil {
				t.Fatal(err)
			}
			if tc.forBuild {
				compareBuild(t, env, dir, tc, res)
				return
			}
			want, err := buildctl(env, dir, tc, "--opt", "requestid=frontend.lint")
			if err != nil {
				t.Fatalf("buildctl: %v\n%s", err, want)
			}
			if g, w := reportBlocks(got.String()), reportBlocks(want); !slices.Equal(g, w) {
				t.Errorf("report differs\n--- kiln\n%s\n--- buildkit\n%s", got.String(), want)
			}
			compareBuild(t, env, dir, withForBuild(tc), runLint(t, withForBuild(tc), registryConfig))
		})
	}
}

func withForBuild(tc lintCase) lintCase {
	tc.forBuild = true
	return tc
}

// compareBuild builds the case with buildkitd and compares its WARN lines
// and its failure with Lint's (ForBuild) warnings and Err. buildkitd now and
// then drops some warnings of a build (on a busy machine, right after a
// check of the same Dockerfile), so a build that differs is tried again.
func compareBuild(t *testing.T, env map[string]string, dir string, tc lintCase, res *LintResult) {
	t.Helper()
	var got []string
	for _, w := range res.Warnings {
		got = append(got, w.String())
	}
	slices.Sort(got)
	var (
		out  string
		err  error
		want []string
	)
	for try := 0; try < 4; try++ {
		out, err = buildctl(env, dir, tc, "--progress", "plain")
		want = want[:0]
		for _, m := range warnLine.FindAllStringSubmatch(out, -1) {
			want = append(want, m[1])
		}
		slices.Sort(want)
		if slices.Equal(got, want) {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("build warnings:\n  kiln     %q\n  buildkit %q", got, want)
	}
	if res.Err != nil {
		var de *Error
		msg := res.Err.Error()
		if errors.As(res.Err, &de) {
			msg = de.Err.Error()
		}
		if ve := (*ViolationError)(nil); errors.As(res.Err, &ve) {
			msg = violationText(out, ve)
		}
		if err == nil || !strings.Contains(out, msg) {
			t.Errorf("kiln fails with %q; buildkit: %v\n%s", msg, err, lastLines(out, 5))
		}
	}
}

// violationText is kiln's violation message with the rules in the order
// buildkitd lists them (it does not sort them).
func violationText(out string, ve *ViolationError) string {
	m := violationLine.FindStringSubmatch(out)
	if m == nil {
		return ve.Error()
	}
	rules := strings.Split(m[1], ", ")
	if sorted := slices.Sorted(slices.Values(rules)); !slices.Equal(sorted, ve.Rules) {
		return ve.Error()
	}
	return (&ViolationError{Rules: rules}).Error()
}

var violationLine = regexp.MustCompile(`for rules: ([A-Za-z, ]+)`)

var warnLine = regexp.MustCompile(`(?m)^#\d+ WARN: (.*)$`)

// reportBlocks splits a check report into its warnings, sorted: BuildKit
// sorts them by line but not stably.
func reportBlocks(s string) []string {
	blocks := strings.Split(s, "\nWARNING: ")
	slices.Sort(blocks)
	return blocks
}

func buildctl(env map[string]string, dir string, tc lintCase, extra ...string) (string, error) {
	args := []string{"--addr", env["BUILDKIT_ADDR"], "build", "--frontend", "dockerfile.v0",
		"--local", "context=" + dir, "--local", "dockerfile=" + dir}
	for k, v := range tc.args {
		args = append(args, "--opt", "build-arg:"+k+"="+v)
	}
	if tc.target != "" {
		args = append(args, "--opt", "target="+tc.target)
	}
	cmd := exec.Command(env["BUILDCTL"], append(args, extra...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if slices.Contains(extra, "requestid=frontend.lint") {
		cmd.Stderr = nil
	}
	err := cmd.Run()
	return out.String(), err
}

func writeCase(t *testing.T, tc lintCase) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"Dockerfile": tc.df}
	if tc.ignore != "" {
		files[".dockerignore"] = tc.ignore
	}
	for k, v := range tc.files {
		files[k] = v
	}
	for p, data := range files {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func conformanceEnv(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("/var/cache/kiln-conformance/env")
	if err != nil {
		t.Fatalf("conformance environment: %v", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

// registryConfig reads an image config from the conformance registry, as
// buildkitd's resolver does.
func registryConfig(ctx context.Context, ref string, p ocispecs.Platform) (*dockerspec.DockerOCIImage, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(r, remote.WithContext(ctx),
		remote.WithPlatform(v1.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant}))
	if err != nil {
		return nil, err
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	var cfg dockerspec.DockerOCIImage
	return &cfg, json.Unmarshal(raw, &cfg)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
