package solver_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/runtime/runtimetest"
	"github.com/kiln-build/kiln/solver"
)

// goBuilder is a builder stage that "runs Go" (its ENV names GOPATH) and
// a final stage copying one file out of it.
const goBuilder = "FROM scratch AS builder\nENV GOPATH=/go\nRUN echo built > /app\n"

// isAuto reports a mount of an automatic cache dir: mounts/cache/<the
// first half of sha256("auto:"+id)>.
func isAuto(source string) bool {
	for _, id := range []string{"go-build/0", "go-mod/0", "npm/0", "pip/0", "cargo-registry/0", "cargo-git/0"} {
		sum := sha256.Sum256([]byte("auto:" + id))
		if filepath.Base(source) == hex.EncodeToString(sum[:16]) {
			return true
		}
	}
	return false
}

// autoTargets lists, per RUN call, the destinations of its automatic
// cache mounts.
func autoTargets(e *env) []string {
	var out []string
	for _, c := range e.exec.Calls() {
		var ds []string
		for _, m := range c.Mounts {
			if isAuto(m.Source) {
				ds = append(ds, m.Destination)
			}
		}
		out = append(out, strings.Join(ds, ","))
	}
	return out
}

func TestAutoCacheRules(t *testing.T) {
	both := "/root/.cache/go-build,/go/pkg/mod"
	for _, tt := range []struct {
		name       string
		dockerfile string
		opts       []solver.Option
		want       []string // auto mounts of each RUN call, in order
		note       string   // a note that says why (or what)
		err        string   // the build fails so (a COPY of what the mount kept)
	}{
		{"builder gets both", goBuilder + "FROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{both}, "auto cache: /root/.cache/go-build, /go/pkg/mod (stage builder", ""},
		{"--no-auto-cache", goBuilder + "FROM scratch\nCOPY --from=builder /app /app\n",
			[]solver.Option{solver.WithoutAutoCache()}, []string{""}, "", ""},
		{"never the target", "FROM scratch\nENV GOPATH=/go\nRUN echo built > /app\n", nil, []string{""}, "", ""},
		{"COPY --from=builder / / reads everything", goBuilder + "FROM scratch\nCOPY --from=builder / /\n",
			nil, []string{""}, "not /root/.cache/go-build for stage builder: another stage reads /", ""},
		{"a copy from inside the module cache", goBuilder + "FROM scratch\nCOPY --from=builder /go/pkg/mod/x /x\n",
			nil, []string{"/root/.cache/go-build"}, "not /go/pkg/mod for stage builder: another stage reads /go/pkg/mod/x", "COPY failed"},
		{"a copy from above it", goBuilder + "FROM scratch\nCOPY --from=builder /root /r\n",
			nil, []string{"/go/pkg/mod"}, "another stage reads /root", "COPY failed"},
		{"a variable source reads the dir before it", goBuilder + "FROM scratch\nARG D\nCOPY --from=builder /go/${D} /x\n",
			nil, []string{"/root/.cache/go-build"}, "another stage reads /go", "COPY failed"},
		{"RUN --mount from= reads", goBuilder + "FROM scratch\nRUN --mount=from=builder,target=/b true\n",
			nil, []string{"", ""}, "another stage reads /", ""},
		{"an ONBUILD trigger of a base stage reads", goBuilder + "FROM scratch AS base\nONBUILD COPY --from=builder /root/.cache /c\nFROM base\nCOPY --from=builder /app /app\n",
			nil, []string{"/go/pkg/mod"}, "not /root/.cache/go-build for stage builder: another stage reads /root/.cache", "not found"},
		{"a stage FROM it", goBuilder + "FROM builder AS next\nRUN true\nFROM scratch\nCOPY --from=next /app /app\n",
			nil, []string{"", both}, "auto cache: none for stage builder: another stage is FROM it", ""},
		{"USER", "FROM scratch AS builder\nENV GOPATH=/go\nUSER 1000\nRUN echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{""}, "auto cache: none for stage builder: it has a USER instruction", ""},
		{"env sets the paths", "FROM scratch AS builder\nENV GOCACHE=/c/build GOMODCACHE=/c/mod\nRUN echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/c/build,/c/mod"}, "", ""},
		{"GOCACHE=off, HOME", "FROM scratch AS builder\nENV GOCACHE=off HOME=/h\nRUN echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/h/go/pkg/mod"}, "", ""},
		{"a go command in a plain stage, and every RUN after it", "FROM scratch AS builder\nRUN true\nRUN echo go build > /app\nRUN true\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"", "/root/.cache/go-build,/root/go/pkg/mod", "/root/.cache/go-build,/root/go/pkg/mod"}, "", ""},
		{"a RUN naming a cache path does not get it", goBuilder + "RUN rm -rf ~/.cache ; true\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{both, "/go/pkg/mod", "/go/pkg/mod"}, "RUN names /root/.cache in stage builder, after a RUN used /root/.cache/go-build as a cache: running the stage again without it", ""},
		{"a #! heredoc naming a cache path", goBuilder + "RUN <<EOF\n#!/bin/sh\ngo clean -modcache\nEOF\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{both, "", ""}, "RUN names go clean in stage builder, after a RUN used /root/.cache/go-build, /go/pkg/mod as a cache", "not found"},
		{"COPY into a cache path after a RUN used it", goBuilder + "COPY m /go/pkg/mod/m\nRUN true\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{both, "/root/.cache/go-build", "/root/.cache/go-build"}, "COPY writes to /go/pkg/mod/m in stage builder", ""},
		{"ADD above a cache path after a RUN used it", goBuilder + "ADD m /root/\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{both, "/go/pkg/mod"}, "ADD writes to /root in stage builder", ""},
		{"WORKDIR inside a cache path", goBuilder + "WORKDIR /go/pkg/mod/x\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{both, "/root/.cache/go-build"}, "WORKDIR /go/pkg/mod/x", ""},
		{"COPY into a cache path before any RUN", "FROM scratch AS builder\nCOPY m /go/pkg/mod/m\nENV GOPATH=/go\nRUN echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/root/.cache/go-build"}, "", ""},
		{"npm ci", "FROM scratch AS builder\nRUN true\nRUN echo npm --no-audit ci && echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"", "/root/.npm"}, "auto cache: /root/.npm (stage builder", ""},
		{"npm init is no install", "FROM scratch AS builder\nRUN echo npm init -y; echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{""}, "", ""},
		{"the node image's env, npm_config_cache", "FROM scratch AS builder\nENV NODE_VERSION=22 npm_config_cache=/nc\nRUN true && echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/nc"}, "", ""},
		{"npm cache clean names it", "FROM scratch AS builder\nRUN echo npm install\nRUN echo npm cache clean --force; echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/root/.npm", "", ""}, "RUN names npm cache in stage builder, after a RUN used /root/.npm as a cache", ""},
		{"pip3 install", "FROM scratch AS builder\nRUN echo pip3 install --user -r req.txt && echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/root/.cache/pip"}, "", ""},
		{"python -m pip with XDG_CACHE_HOME", "FROM scratch AS builder\nENV XDG_CACHE_HOME=/x\nRUN echo python3 -m pip wheel . && echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/x/pip"}, "", ""},
		{"PIP_NO_CACHE_DIR", "FROM scratch AS builder\nENV PIP_NO_CACHE_DIR=1\nRUN echo pip install . && echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{""}, "", ""},
		{"cargo, the rust image's env", "FROM scratch AS builder\nENV CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/bin\nRUN true && echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/usr/local/cargo/registry,/usr/local/cargo/git"}, "", ""},
		{"cargo build --release, a copy from the target dir", "FROM scratch AS builder\nRUN echo cargo +nightly build --release && echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/root/.cargo/registry,/root/.cargo/git"}, "", ""},
		{"go and npm in one RUN", "FROM scratch AS builder\nRUN echo npm ci && echo go build -o /app > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/root/.cache/go-build,/root/go/pkg/mod,/root/.npm"}, "", ""},
		{"RUN --mount=type=cache covers it", "FROM scratch AS builder\nENV GOPATH=/go\nRUN --mount=type=cache,target=/go/pkg/mod echo built > /app\nFROM scratch\nCOPY --from=builder /app /app\n",
			nil, []string{"/root/.cache/go-build"}, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, map[string]string{"Dockerfile": tt.dockerfile, "m": "module"})
			_, rec, err := e.build(context.Background(), tt.opts...)
			if (err != nil || tt.err != "") && (err == nil || tt.err == "" || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("build: %v, want an error %q", err, tt.err)
			}
			if got := autoTargets(e); strings.Join(got, " | ") != strings.Join(tt.want, " | ") {
				t.Errorf("auto mounts %q, want %q", got, tt.want)
			}
			if tt.note != "" && !strings.Contains(strings.Join(rec.Notes(), "\n"), tt.note) {
				t.Errorf("no note %q in:\n%s", tt.note, strings.Join(rec.Notes(), "\n"))
			}
		})
	}
}

func TestAutoCacheKeysAndSummary(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": goBuilder + "FROM scratch\nCOPY --from=builder /app /app\n"})
	auto, _ := e.mustBuild()
	if got := auto.Summary().AutoCaches; len(got) != 1 || got[0].Stage != "builder" ||
		strings.Join(got[0].Paths, ",") != "/root/.cache/go-build,/go/pkg/mod" {
		t.Errorf("summary auto caches %+v", got)
	}
	off, rec := e.mustBuild(solver.WithoutAutoCache())
	if rec.Count("cached") != 0 || len(e.exec.Calls()) != 2 {
		t.Errorf("--no-auto-cache reused the auto-cached RUN: %v", rec.Steps())
	}
	if len(off.Summary().AutoCaches) != 0 {
		t.Errorf("--no-auto-cache summary %+v", off.Summary().AutoCaches)
	}
	if file(t, auto, auto.Image, "app") != file(t, off, off.Image, "app") {
		t.Error("the images' files differ")
	}
	if _, rec := e.mustBuild(); rec.Count("cached") != 2 {
		t.Errorf("an auto-cache rebuild: %v", rec.Steps())
	}
}

// writeIntoMounts makes the fake RUN write a file into each auto cache
// mount's directory, as the go command would.
func writeIntoMounts(e *env, name string) {
	e.exec.Hook = func(ctx context.Context, c runtimetest.Call) (bool, int, error) {
		for _, m := range c.Mounts {
			if strings.Contains(m.Source, filepath.Join("mounts", "cache")) {
				os.WriteFile(filepath.Join(m.Source, name), []byte(m.Destination), 0o644)
			}
		}
		return false, 0, nil
	}
}

// A step that used the module cache is reused only while that cache
// still holds what the step wrote; losing the build cache costs nothing.
func TestAutoCacheKeepsModuleWrites(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": goBuilder + "FROM scratch\nCOPY --from=builder /app /app\n"})
	writeIntoMounts(e, "written")
	e.mustBuild()
	dirs := map[string]string{}
	for _, m := range e.exec.Calls()[0].Mounts {
		dirs[m.Destination] = m.Source
	}
	if b, err := os.ReadFile(filepath.Join(dirs["/go/pkg/mod"], "written")); err != nil || string(b) != "/go/pkg/mod" {
		t.Fatalf("the RUN's write did not reach the cache dir: %q %v", b, err)
	}
	os.RemoveAll(dirs["/root/.cache/go-build"])
	os.Remove(dirs["/root/.cache/go-build"] + ".epoch")
	if _, rec := e.mustBuild(); rec.Count("cached") != 2 {
		t.Errorf("a lost build cache reran steps: %v", rec.Steps())
	}
	os.RemoveAll(dirs["/go/pkg/mod"])
	os.Remove(dirs["/go/pkg/mod"] + ".epoch")
	if _, rec := e.mustBuild(); rec.Steps()["[builder 3/3] RUN echo built > /app"] != "done" {
		t.Errorf("a lost module cache kept the RUN cached: %v", rec.Steps())
	}
	if _, err := os.Stat(filepath.Join(dirs["/go/pkg/mod"], "written")); err != nil {
		t.Errorf("the rerun did not write the module cache again: %v", err)
	}
}

func TestAutoCacheDirsShared(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": "FROM scratch AS a\nENV GOPATH=/go\nRUN echo a > /a\n" +
		"FROM scratch AS b\nENV GOPATH=/gopath HOME=/home/b\nRUN echo b > /b\n" +
		"FROM scratch\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n"})
	e.mustBuild()
	src := map[string][]string{}
	for _, c := range e.exec.Calls() {
		for _, m := range c.Mounts {
			if isAuto(m.Source) {
				src[filepath.Base(m.Source)] = append(src[filepath.Base(m.Source)], m.Destination)
			}
		}
	}
	var got []string
	for _, ds := range src {
		sort.Strings(ds)
		got = append(got, strings.Join(ds, ","))
	}
	sort.Strings(got)
	want := "/go/pkg/mod,/gopath/pkg/mod | /home/b/.cache/go-build,/root/.cache/go-build"
	if strings.Join(got, " | ") != want {
		t.Errorf("cache dirs by mount %q, want one per kind: %q", got, want)
	}
}
