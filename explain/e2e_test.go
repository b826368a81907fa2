package explain_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/explain"
	"github.com/kiln-build/kiln/export"
	kilnruntime "github.com/kiln-build/kiln/runtime"
	"github.com/kiln-build/kiln/runtime/runtimetest"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/store"
)

// The end-to-end tests build Dockerfiles with the solver as any user can:
// the native snapshotter and a fake executor whose RUN does what the
// Dockerfile's `go build` would (the host's go builds examples/hello, and
// the Go build cache gets an entry). golang:1.22 is busybox plus a Go
// toolchain (the host's gofmt, a "cmd/gofmt" binary, in /usr/local/go).

const leaky = `FROM golang:1.22 AS builder
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o app .

FROM busybox
COPY --from=builder / /
COPY . /app
CMD ["/src/app"]
`

const leakyBase = `FROM golang:1.22 AS builder
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 go build -o app .

FROM golang:1.22
COPY --from=builder /src/app /app
ENTRYPOINT ["/app"]
`

func TestLeakyBuildWarns(t *testing.T) {
	e := newEnv(t)
	d := e.build(t, leaky, true)
	rep, err := explain.AnalyzeDigest(context.Background(), e.st, d)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ToolchainCopied layer 1 line 7: /usr/local/go",
		"BuildCacheShipped layer 1 line 7: /root/.cache/go-build",
		"VCSDirShipped layer 1 line 7: /src/.git",
		"SecretShipped layer 1 line 7: /src/key.pem /src/.env",
		"WholeStageCopied layer 1 line 7: /usr/local/go/ /src/app /root/.cache/go-build/ /src/Dockerfile /src/key.pem",
		"VCSDirShipped layer 2 line 8: /app/.git",
		"SecretShipped layer 2 line 8: /app/key.pem /app/.env",
		"ContextCopiedWhole layer 2 line 8: /app/Dockerfile /app/key.pem /app/main.go /app/.git/ /app/go.mod",
	}
	if got := describe(rep.Warnings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range rep.Warnings {
		if w.File != "Dockerfile" || w.Bytes <= 0 || w.Fix == "" || w.Message == "" {
			t.Errorf("incomplete warning %+v", w)
		}
	}
	// Check, the form a build calls, finds the same.
	ws, err := explain.Check(context.Background(), e.st, d)
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(ws); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Check warnings:\n%s", strings.Join(got, "\n"))
	}
	// every byte is attributed: builder shipped the big layer, busybox its own
	var stages []string
	var sum int64
	for _, s := range rep.Stages {
		stages = append(stages, fmt.Sprintf("%s/%s %v", s.Name, s.Kind, s.Layers))
		sum += s.Shipped
	}
	if strings.Join(stages, ", ") != "builder/stage [1], stage-1/stage [2], busybox/base-image [0]" || sum != rep.Bytes {
		t.Errorf("stages %s shipping %d of %d bytes", stages, sum, rep.Bytes)
	}
}

func TestToolchainBaseWarns(t *testing.T) {
	e := newEnv(t)
	d := e.build(t, leakyBase, false)
	ws, err := explain.Check(context.Background(), e.st, d)
	if err != nil {
		t.Fatal(err)
	}
	if got := describe(ws); len(got) != 1 || !strings.HasPrefix(got[0], "ToolchainBaseImage layer 0") ||
		!strings.Contains(ws[0].Message, "FROM golang:1.22") || !strings.Contains(ws[0].Fix, "distroless") {
		t.Errorf("warnings %q %+v", got, ws)
	}
}

func TestCleanBuildsDoNotWarn(t *testing.T) {
	seed, err := os.ReadFile("../examples/hello/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for name, df := range map[string]string{
		"the seed example, golang to scratch": string(seed),
		"golang to busybox": "FROM golang:1.22 AS builder\nWORKDIR /src\nCOPY main.go go.mod ./\n" +
			"RUN CGO_ENABLED=0 go build -o app .\nFROM busybox\nCOPY --from=builder /src/app /usr/local/bin/app\n",
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			d := e.build(t, df, false)
			start := time.Now()
			ws, err := explain.Check(context.Background(), e.st, d)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("Check took %v", time.Since(start))
			if len(ws) != 0 {
				t.Errorf("warnings on a clean build: %q", describe(ws))
			}
			rep, err := explain.AnalyzeDigest(context.Background(), e.st, d)
			if err != nil || len(rep.Warnings) != 0 {
				t.Errorf("Analyze: %v %q", err, describe(rep.Warnings))
			}
		})
	}
}

func describe(ws []explain.Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%s layer %d line %d: %s", w.Rule, w.Layer, w.Line, strings.Join(w.Paths, " ")))
	}
	return out
}

type env struct {
	st  *store.Store
	dir string
}

var (
	helloOnce sync.Once
	helloBin  string
	helloErr  error
	binDir    string
)

// TestMain keeps one temp dir for the binaries the tests build once; RUN
// steps in real containers (TestRealRunAsRoot) re-execute the test binary
// as their init.
func TestMain(m *testing.M) {
	kilnruntime.Init()
	binDir, _ = os.MkdirTemp("", "explain-test-")
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// hello builds examples/hello with the host's go, as the builder stage's
// RUN would.
func hello(t testing.TB) string {
	t.Helper()
	helloOnce.Do(func() {
		helloBin = filepath.Join(binDir, "hello")
		cmd := exec.Command("go", "build", "-o", helloBin, ".")
		cmd.Dir = "../examples/hello"
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			helloErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if helloErr != nil {
		t.Skipf("cannot build examples/hello with the host's go: %v", helloErr)
	}
	return helloBin
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, dir: t.TempDir()}
	gofmt := filepath.Join(runtime.GOROOT(), "bin", "gofmt")
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		gofmt = filepath.Join(strings.TrimSpace(string(out)), "bin", "gofmt")
	}
	tool, err := os.ReadFile(gofmt)
	if err != nil {
		t.Skipf("needs the Go toolchain's gofmt: %v", err)
	}
	busybox := map[string]string{"bin/busybox": "\x7fELF not really busybox", "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"}
	e.importImage(t, "busybox:latest", busybox)
	golang := map[string]string{"usr/local/go/bin/gofmt": string(tool), "usr/local/go/VERSION": "go1.22.0\n"}
	for k, v := range busybox {
		golang[k] = v
	}
	e.importImage(t, "golang:1.22", golang)
	write(t, e.dir, map[string]string{
		"main.go":   "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from kiln\") }\n",
		"go.mod":    "module hello\n\ngo 1.22\n",
		".env":      "DB_PASSWORD=hunter2\n",
		"key.pem":   "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
		".git/HEAD": "ref: refs/heads/main\n", ".git/config": "[core]\n\tbare = false\n",
	})
	return e
}

func (e *env) importImage(t *testing.T, name string, files map[string]string) {
	t.Helper()
	root := t.TempDir()
	write(t, root, files)
	os.Chmod(filepath.Join(root, "bin/busybox"), 0o755)
	if p := filepath.Join(root, "usr/local/go/bin/gofmt"); fileExists(p) {
		os.Chmod(p, 0o755)
	}
	if _, err := export.Import(context.Background(), e.st, root, name, []string{`CMD ["sh"]`}, ""); err != nil {
		t.Fatal(err)
	}
}

// build builds dockerfile in the env's context and stores the image; the
// fake RUN builds hello, and fills the Go build cache when cache is set.
func (e *env) build(t *testing.T, dockerfile string, cache bool) v1.Hash {
	t.Helper()
	write(t, e.dir, map[string]string{"Dockerfile": dockerfile})
	bin := hello(t)
	fake := &runtimetest.Fake{Hook: func(_ context.Context, c runtimetest.Call) (bool, int, error) {
		if !strings.Contains(c.Script(), "go build -o app") {
			return false, 0, nil
		}
		b, err := os.ReadFile(bin)
		if err != nil {
			return true, 1, err
		}
		files := map[string]string{filepath.Join(c.Cwd, "app"): string(b)}
		if cache {
			files["root/.cache/go-build/3f/3f0a9c-d"] = strings.Repeat("compiled object ", 4096)
		}
		write(t, c.Rootfs, files)
		os.Chmod(filepath.Join(c.Rootfs, c.Cwd, "app"), 0o755)
		return true, 0, nil
	}}
	res, err := solver.Build(context.Background(), e.st, e.dir, solver.WithExecutor(fake), solver.WithSnapshotter(snapshot.Native))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	rep, err := export.Write(context.Background(), e.st, res, []export.Output{{Type: "image"}}, export.WithTags("app:test"))
	if err != nil {
		t.Fatal(err)
	}
	return rep.Manifest.Digest
}

func write(t testing.TB, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
