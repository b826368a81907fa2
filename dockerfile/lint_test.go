package dockerfile

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestLint(t *testing.T) {
	for _, tc := range lintCases {
		t.Run(tc.name, func(t *testing.T) {
			res := runLint(t, tc, fakeBaseImages)
			if got := warningLines(res.Warnings); !slices.Equal(got, tc.want) {
				t.Errorf("warnings:\n  got  %q\n  want %q", got, tc.want)
			}
			switch {
			case tc.wantErr == "" && res.Err != nil:
				t.Errorf("err = %v, want none", res.Err)
			case tc.wantErr != "" && (res.Err == nil || !strings.Contains(res.Err.Error(), tc.wantErr)):
				t.Errorf("err = %v, want %q", res.Err, tc.wantErr)
			}
		})
	}
}

// runLint parses tc's Dockerfile and lints it with baseImages.
func runLint(t *testing.T, tc lintCase, baseImages BaseImageFunc) *LintResult {
	t.Helper()
	f, err := Parse("Dockerfile", strings.NewReader(tc.df))
	if err != nil {
		t.Fatal(err)
	}
	opts := []LintOption{WithBuildArgs(tc.args), WithTarget(tc.target), WithBaseImages(baseImages)}
	if tc.ignore != "" {
		opts = append(opts, WithIgnorePatterns(strings.Fields(tc.ignore)))
	}
	if tc.forBuild {
		opts = append(opts, ForBuild())
	}
	res, err := Lint(context.Background(), f, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func warningLines(ws []LintWarning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%d %s: %s", w.StartLine, w.Rule, w.Message))
	}
	return out
}

// fakeBaseImages knows the images of the conformance registry, for the
// host's architecture whatever platform is asked (as a registry without an
// index answers).
func fakeBaseImages(_ context.Context, ref string, _ ocispecs.Platform) (*dockerspec.DockerOCIImage, error) {
	ref, _, _ = strings.Cut(ref, ":latest")
	img := &dockerspec.DockerOCIImage{}
	img.OS, img.Architecture = "linux", runtime.GOARCH
	img.Config.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	img.RootFS.DiffIDs = []digest.Digest{"sha256:3cf7f27b8f8802979047a255936fb840ae3d5c59d9fead017c7f626d5f45f6e8"}
	switch ref {
	case bb, reg + "debian":
	case golang:
		img.Config.Env = []string{"PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"GOLANG_VERSION=1.26.8", "GOTOOLCHAIN=local", "GOPATH=/go"}
	case noLayer:
		img.RootFS.DiffIDs = nil
	case obImage:
		img.Config.OnBuild = []string{"ARG P", `RUN echo "trigger $P" > /trigger.txt`, "COPY ctx.txt /from-ctx.txt", "ENV OB=1"}
	case obDeps:
		img.Config.OnBuild = []string{"COPY --from=" + reg + "debian /etc/debian_version /out/debian_version2"}
	default:
		return nil, fmt.Errorf("%s: not found", ref)
	}
	return img, nil
}

func TestLintWithoutBaseImages(t *testing.T) {
	// an image's ENV is unknown: its stages get no UndefinedVar, stages on
	// scratch still do; the other rules run
	src := "FROM " + bb + " AS a\nENV A=$FROM_IMAGE\nCMD echo\nFROM scratch\nENV B=$NOPE\n"
	f, err := Parse("Dockerfile", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Lint(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"3 JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals",
		"5 UndefinedVar: Usage of undefined variable '$NOPE'",
	}
	if got := warningLines(res.Warnings); !slices.Equal(got, want) || res.Err != nil {
		t.Errorf("got %q, %v; want %q", got, res.Err, want)
	}
}

func TestLintPrint(t *testing.T) {
	src := "# check=error=true\nFROM scratch AS Base\nENV A b\n\nCMD echo \\\n  hi\n"
	f, err := Parse("Dockerfile", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Lint(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := res.PrintTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `
WARNING: StageNameCasing - https://docs.docker.com/go/dockerfile/rule/stage-name-casing/
Stage name 'Base' should be lowercase
Dockerfile:2
--------------------
   1 |     # check=error=true
   2 | >>> FROM scratch AS Base
   3 |     ENV A b
   4 |     
--------------------

WARNING: LegacyKeyValueFormat - https://docs.docker.com/go/dockerfile/rule/legacy-key-value-format/
"ENV key=value" should be used instead of legacy "ENV key value" format
Dockerfile:3
--------------------
   1 |     # check=error=true
   2 |     FROM scratch AS Base
   3 | >>> ENV A b
   4 |     
   5 |     CMD echo \
--------------------

WARNING: JSONArgsRecommended - https://docs.docker.com/go/dockerfile/rule/json-args-recommended/
JSON arguments recommended for CMD to prevent unintended behavior related to OS signals
Dockerfile:5
--------------------
   4 |     
   5 | >>> CMD echo \
   6 | >>>   hi
   7 |     
--------------------
`
	if b.String() != want {
		t.Errorf("PrintTo:\n%s\nwant:\n%s", b.String(), want)
	}
	if got := res.Warnings[2].String(); got != "JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related to OS signals (line 5)" {
		t.Errorf("String() = %q", got)
	}
	if !errors.Is(res.Err, ErrLintViolation) {
		t.Errorf("Err = %v, want a violation", res.Err)
	}
	b.Reset()
	if err := res.PrintErrorTo(&b); err != nil || b.String() != "lint violation found for rules: JSONArgsRecommended, LegacyKeyValueFormat, StageNameCasing\n" {
		t.Errorf("PrintErrorTo: %q %v", b.String(), err)
	}
}

func TestLintRules(t *testing.T) {
	rules := LintRules()
	if len(rules) != 22 {
		t.Errorf("%d rules, want BuildKit's 22", len(rules))
	}
	for _, r := range rules {
		if r.Name == "" || r.Description == "" || (r.URL == "") != (r.Name == "InvalidBaseImagePlatform") {
			t.Errorf("rule %+v", r)
		}
		if r.Experimental != (r.Name == "InvalidDefinitionDescription") {
			t.Errorf("rule %s experimental %v", r.Name, r.Experimental)
		}
	}
}

func TestLintCancelled(t *testing.T) {
	f, err := Parse("Dockerfile", strings.NewReader("FROM "+bb+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	base := func(ctx context.Context, ref string, p ocispecs.Platform) (*dockerspec.DockerOCIImage, error) {
		return nil, ctx.Err()
	}
	if _, err := Lint(ctx, f, WithBaseImages(base)); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// FuzzLint: checking never panics, whatever the Dockerfile.
func FuzzLint(f *testing.F) {
	for _, tc := range lintCases {
		f.Add(tc.df)
	}
	addConformanceSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		df, err := Parse("Dockerfile", strings.NewReader(s))
		if err != nil {
			return
		}
		_, _ = Lint(context.Background(), df, WithBaseImages(fakeBaseImages), WithIgnorePatterns([]string{"a", "b/**"}))
		_, _ = Lint(context.Background(), df, ForBuild())
	})
}

func BenchmarkLint(b *testing.B) {
	var src strings.Builder
	for _, tc := range lintCases {
		if strings.HasPrefix(tc.df, "ARG") || strings.Contains(tc.df, "#") || tc.wantErr != "" {
			continue
		}
		src.WriteString(tc.df)
	}
	f, err := Parse("Dockerfile", strings.NewReader(src.String()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Lint(context.Background(), f, WithBaseImages(fakeBaseImages)); err != nil {
			b.Fatal(err)
		}
	}
}
