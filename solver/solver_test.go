package solver_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/runtime/runtimetest"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/store"
)

// env is a store, a build context and a fake executor: builds without
// root, mounts or containers (the native snapshotter copies files).
type env struct {
	t    *testing.T
	st   *store.Store
	dir  string
	exec *runtimetest.Fake
}

func newEnv(t *testing.T, files map[string]string) *env {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, dir: t.TempDir(), exec: &runtimetest.Fake{}}
	e.write(files)
	return e
}

func (e *env) write(files map[string]string) {
	e.t.Helper()
	for p, c := range files {
		full := filepath.Join(e.dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			e.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			e.t.Fatal(err)
		}
	}
}

// build runs a build with the fake executor and a recording sink.
func (e *env) build(ctx context.Context, opts ...solver.Option) (*solver.Result, *progress.Recorder, error) {
	e.t.Helper()
	rec := &progress.Recorder{}
	all := append([]solver.Option{solver.WithExecutor(e.exec), solver.WithSnapshotter(snapshot.Native),
		solver.WithProgress(rec)}, opts...)
	res, err := solver.Build(ctx, e.st, e.dir, all...)
	if res != nil {
		e.t.Cleanup(func() { res.Close() })
	}
	return res, rec, err
}

func (e *env) mustBuild(opts ...solver.Option) (*solver.Result, *progress.Recorder) {
	e.t.Helper()
	res, rec, err := e.build(context.Background(), opts...)
	if err != nil {
		e.t.Fatal(err)
	}
	return res, rec
}

// file reads path from the merged layers of img.
func file(t *testing.T, res *solver.Result, img *image.Image, path string) string {
	t.Helper()
	lowers, err := res.Lowers(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	v, err := res.Snapshots().View(context.Background(), lowers)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Release()
	b, err := os.ReadFile(filepath.Join(v.Root(), path))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func keys(img *image.Image) []string {
	var out []string
	for _, l := range img.Layers {
		out = append(out, l.Key)
	}
	return out
}

func TestCopyAndRunMakeLayers(t *testing.T) {
	e := newEnv(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\nRUN echo ran > /b.txt\nENV K=v\n",
		"a.txt":      "from context\n",
	})
	res, rec := e.mustBuild()
	if n := len(res.Image.Layers); n != 2 {
		t.Fatalf("%d layers, want 2 (COPY, RUN)", n)
	}
	if got := file(t, res, res.Image, "a.txt"); got != "from context\n" {
		t.Errorf("a.txt = %q", got)
	}
	if got := file(t, res, res.Image, "b.txt"); got != "ran\n" {
		t.Errorf("b.txt = %q", got)
	}
	if rec.Count("done") != 4 || rec.Count("cached") != 0 {
		t.Errorf("steps: %v", rec.Steps())
	}
	h := res.Image.Config.History
	if len(h) != 3 || h[0].CreatedBy != "COPY a.txt /a.txt # buildkit" || !h[2].EmptyLayer {
		t.Errorf("history: %+v", h)
	}
}

func TestRebuildIsCached(t *testing.T) {
	e := newEnv(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY a.txt /\nRUN echo x > /x\n",
		"a.txt":      "1",
	})
	first, _ := e.mustBuild()
	second, rec := e.mustBuild()
	if rec.Count("cached") != 2 || len(e.exec.Calls()) != 1 {
		t.Errorf("second build: steps %v, %d RUNs", rec.Steps(), len(e.exec.Calls()))
	}
	if strings.Join(keys(first.Image), ",") != strings.Join(keys(second.Image), ",") {
		t.Error("cache keys differ between identical builds")
	}
}

func TestCacheKeyFollowsContentNotMtime(t *testing.T) {
	e := newEnv(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY a.txt /\nRUN echo x > /x\n",
		"a.txt":      "1",
	})
	e.mustBuild()
	later := time.Now().Add(time.Hour)
	os.Chtimes(filepath.Join(e.dir, "a.txt"), later, later)
	if _, rec := e.mustBuild(); rec.Count("cached") != 2 {
		t.Errorf("a new mtime alone reran steps: %v", rec.Steps())
	}
	e.write(map[string]string{"a.txt": "2"})
	if _, rec := e.mustBuild(); rec.Count("cached") != 0 || len(e.exec.Calls()) != 2 {
		t.Errorf("changed content: steps %v", rec.Steps())
	}
}

func TestCacheKeyBuildArgs(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": "FROM scratch\nRUN echo a > /a\nARG V\nRUN echo $V > /v\n"})
	e.mustBuild(solver.WithBuildArgs(map[string]string{"V": "1"}))
	_, rec := e.mustBuild(solver.WithBuildArgs(map[string]string{"V": "2"}))
	steps := rec.Steps()
	if steps["[stage-0 2/4] RUN echo a > /a"] != "cached" || steps["[stage-0 4/4] RUN echo $V > /v"] != "done" {
		t.Errorf("only the RUN after ARG V should rerun: %v", steps)
	}
	// an undeclared build arg changes nothing
	_, rec = e.mustBuild(solver.WithBuildArgs(map[string]string{"V": "2", "OTHER": "x"}))
	if rec.Count("cached") != 2 {
		t.Errorf("an undeclared arg reran steps: %v", rec.Steps())
	}
}

func TestCacheKeyEnvAndUser(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": "FROM scratch\nENV A=1\nRUN true\n"})
	e.mustBuild()
	e.write(map[string]string{"Dockerfile": "FROM scratch\nENV A=2\nRUN true\n"})
	if _, rec := e.mustBuild(); rec.Count("cached") != 0 {
		t.Errorf("a changed ENV kept the RUN cached: %v", rec.Steps())
	}
	e.write(map[string]string{"Dockerfile": "FROM scratch\nENV A=2\nUSER 1000\nRUN true\n"})
	if _, rec := e.mustBuild(); rec.Count("cached") != 0 {
		t.Errorf("a changed USER kept the RUN cached: %v", rec.Steps())
	}
}

func TestNoCacheAndFilter(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": "FROM scratch AS a\nRUN echo a > /a\nFROM scratch AS b\nRUN echo b > /b\nCOPY --from=a /a /a\n"})
	e.mustBuild()
	_, rec := e.mustBuild(solver.WithNoCacheFilter("A"))
	steps := rec.Steps()
	if steps["[a 2/2] RUN echo a > /a"] != "done" || steps["[b 2/3] RUN echo b > /b"] != "cached" {
		t.Errorf("--no-cache-filter=A: %v", steps)
	}
	if _, rec := e.mustBuild(solver.WithNoCache()); rec.Count("cached") != 0 {
		t.Errorf("--no-cache: %v", rec.Steps())
	}
	if _, _, err := e.build(context.Background(), solver.WithNoCacheFilter("nosuch")); err == nil ||
		!strings.Contains(err.Error(), `--no-cache-filter: no stage "nosuch"`) {
		t.Errorf("unknown --no-cache-filter stage: %v", err)
	}
}

func TestTargetSkipsUnneededStages(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": "FROM scratch AS unused\nRUN echo never > /n\nFROM scratch AS used\nRUN echo yes > /y\nFROM scratch\nCOPY --from=unused /n /n\n"})
	_, rec := e.mustBuild(solver.WithTarget("used"))
	var skipped []string
	for _, ev := range rec.Events() {
		if s, ok := ev.(progress.StageSkipped); ok {
			skipped = append(skipped, s.Stage+"<"+s.Target)
		}
	}
	if strings.Join(skipped, ",") != "unused<used,stage-2<used" {
		t.Errorf("skipped: %v", skipped)
	}
	for _, c := range e.exec.Calls() {
		if strings.Contains(c.Script(), "never") {
			t.Error("a stage the target does not need ran")
		}
	}
}

func TestIndependentStagesRunInParallel(t *testing.T) {
	df := "FROM scratch AS a\nRUN echo a > /a\nFROM scratch AS b\nRUN echo b > /b\nFROM scratch\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n"
	for _, jobs := range []int{1, 2} {
		e := newEnv(t, map[string]string{"Dockerfile": df})
		var active, peak int32
		e.exec.Hook = func(ctx context.Context, c runtimetest.Call) (bool, int, error) {
			n := atomic.AddInt32(&active, 1)
			for {
				p := atomic.LoadInt32(&peak)
				if n <= p || atomic.CompareAndSwapInt32(&peak, p, n) {
					break
				}
			}
			time.Sleep(150 * time.Millisecond)
			atomic.AddInt32(&active, -1)
			return false, 0, nil
		}
		e.mustBuild(solver.WithJobs(jobs))
		if int(peak) != jobs {
			t.Errorf("jobs=%d: %d RUNs at once", jobs, peak)
		}
	}
	if _, _, err := newEnv(t, map[string]string{"Dockerfile": df}).build(context.Background(), solver.WithJobs(0)); err == nil {
		t.Error("--jobs 0 was accepted")
	}
}

func TestFailureCancelsOtherStages(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": "FROM scratch AS slow\nRUN block\nFROM scratch AS bad\nRUN exit 7\nFROM scratch\nCOPY --from=slow / /\nCOPY --from=bad / /\n"})
	start := time.Now()
	_, rec, err := e.build(context.Background())
	if err == nil {
		t.Fatal("build succeeded")
	}
	var de *dockerfile.Error
	if !errors.As(err, &de) || de.Line != 4 || !strings.Contains(err.Error(), "exit code: 7") {
		t.Errorf("error %q, want line 4 and exit code 7", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("the failure was reported as a cancellation: %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Error("the blocked stage was not cancelled")
	}
	if rec.Count("failed") < 1 {
		t.Errorf("no failed step: %v", rec.Steps())
	}
}

func TestCancelDuringCopy(t *testing.T) {
	files := map[string]string{"Dockerfile": "FROM scratch\nCOPY . /ctx/\n"}
	for i := 0; i < 3000; i++ {
		files[filepath.Join("d", string(rune('a'+i%26)), "f"+strings.Repeat("x", i%7)+string(rune('0'+i%10))+time.Duration(i).String())] = "x"
	}
	e := newEnv(t, files)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	sink := sinkFunc(func(ev progress.Event) {
		if s, ok := ev.(progress.StepStarted); ok && strings.HasPrefix(s.Name, "COPY") {
			once.Do(cancel)
		}
	})
	_, err := solver.Build(ctx, e.st, e.dir, solver.WithExecutor(e.exec), solver.WithSnapshotter(snapshot.Native), solver.WithProgress(sink))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one that wraps context.Canceled", err)
	}
}

type sinkFunc func(progress.Event)

func (f sinkFunc) Event(e progress.Event) { f(e) }

func TestRunProcessSetup(t *testing.T) {
	e := newEnv(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY passwd /etc/passwd\nENV E=1\nARG A=2\nUSER app\nWORKDIR /w\nRUN env > /tmp-env\n",
		"passwd":     "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
	})
	e.mustBuild(solver.WithBuildArgs(map[string]string{"http_proxy": "http://proxy:3128"}))
	calls := e.exec.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d RUNs", len(calls))
	}
	c := calls[0]
	env := strings.Join(c.Env, " ")
	for _, want := range []string{"E=1", "A=2", "HOME=/home/app", "http_proxy=http://proxy:3128", "PATH="} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %s: %v", want, c.Env)
		}
	}
	if c.UID != 1000 || c.GID != 1000 || c.Cwd != "/w" || c.Args[0] != "/bin/sh" || c.Args[1] != "-c" {
		t.Errorf("process: uid %d gid %d cwd %s args %q", c.UID, c.GID, c.Cwd, c.Args)
	}
}

func TestProxyArgsStayOutOfHistoryAndKeys(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": "FROM scratch\nRUN true\n"})
	res1, _ := e.mustBuild(solver.WithBuildArgs(map[string]string{"HTTPS_PROXY": "http://a"}))
	res2, rec := e.mustBuild(solver.WithBuildArgs(map[string]string{"HTTPS_PROXY": "http://b"}))
	if rec.Count("cached") != 1 || keys(res1.Image)[0] != keys(res2.Image)[0] {
		t.Errorf("a proxy change reran the RUN: %v", rec.Steps())
	}
	for _, h := range res2.Image.Config.History {
		if strings.Contains(h.CreatedBy, "PROXY") {
			t.Errorf("proxy in history: %s", h.CreatedBy)
		}
	}
}

func TestSourceDateEpoch(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": "FROM scratch\nRUN true\nENV A=1\n"})
	res, _ := e.mustBuild(solver.WithBuildArgs(map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}))
	want := time.Unix(1700000000, 0).UTC()
	if res.Epoch == nil || !res.Epoch.Equal(want) {
		t.Fatalf("Epoch = %v", res.Epoch)
	}
	for _, h := range res.Image.Config.History {
		if h.Created == nil || !h.Created.Equal(want) {
			t.Errorf("%s created %v, want %v", h.CreatedBy, h.Created, want)
		}
	}
}

func TestCopyFromStageFollowsTheStage(t *testing.T) {
	e := newEnv(t, map[string]string{
		"Dockerfile": "FROM scratch AS builder\nCOPY src /src\nRUN echo built > /out\nFROM scratch\nCOPY --from=builder /out /app\n",
		"src":        "v1",
	})
	res, _ := e.mustBuild()
	if got := file(t, res, res.Image, "app"); got != "built\n" {
		t.Errorf("app = %q", got)
	}
	if res.Image.Layers[0].Origin != "builder" {
		t.Errorf("origin %q", res.Image.Layers[0].Origin)
	}
	e.write(map[string]string{"src": "v2"})
	_, rec := e.mustBuild()
	if rec.Steps()["[stage-1 2/2] COPY --from=builder /out /app"] != "done" {
		t.Errorf("a rebuilt builder kept the final COPY cached: %v", rec.Steps())
	}
}

func TestConfigInstructions(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": `FROM scratch
ENV A=1 B="two words"
LABEL l=v
EXPOSE 80 53/udp
USER 1000:1000
WORKDIR /app
VOLUME /data
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/app"]
CMD ["--flag"]
`})
	res, _ := e.mustBuild(solver.WithLabels(map[string]string{"cli": "x"}))
	c := res.Image.Config.Config
	if strings.Join(c.Env, ",") != "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,A=1,B=two words" {
		t.Errorf("Env %q", c.Env)
	}
	if c.Labels["l"] != "v" || c.Labels["cli"] != "x" || c.User != "1000:1000" || c.WorkingDir != "/app" ||
		c.StopSignal != "SIGTERM" || strings.Join(c.Entrypoint, " ") != "/bin/app" || strings.Join(c.Cmd, " ") != "--flag" {
		t.Errorf("config: %+v", c)
	}
	if _, ok := c.ExposedPorts["53/udp"]; !ok || len(c.ExposedPorts) != 2 || len(c.Volumes) != 1 {
		t.Errorf("ports %v volumes %v", c.ExposedPorts, c.Volumes)
	}
	if len(res.Image.Layers) != 1 { // WORKDIR /app makes a layer, as in BuildKit
		t.Errorf("%d layers", len(res.Image.Layers))
	}
}

func TestErrorsNameTheLine(t *testing.T) {
	for _, tt := range []struct{ df, want string }{
		{"FROM scratch\nRUN exit 3\n", "exit code: 3"},
		{"FROM scratch\nCOPY missing.txt /\n", "missing.txt"},
		{"FROM scratch\nEXPOSE 80/bogus\n", "invalid proto"},
		{"FROM scratch\nCOPY --from=nostage /x /x\n", "nostage is no stage of Dockerfile"},
	} {
		e := newEnv(t, map[string]string{"Dockerfile": tt.df})
		_, _, err := e.build(context.Background(), solver.WithSources())
		var de *dockerfile.Error
		if !errors.As(err, &de) || de.Line != 2 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err %v, want line 2 and %q", tt.df, err, tt.want)
		}
	}
}

func TestWarningsAndNotesAreEvents(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": "# syntax=docker/dockerfile:1\nFROM scratch AS Base\nRUN true\n"})
	_, rec := e.mustBuild()
	var warned, noted bool
	for _, ev := range rec.Events() {
		switch ev := ev.(type) {
		case progress.Warning:
			warned = warned || ev.Line > 0
		case progress.Note:
			noted = noted || strings.Contains(ev.Message, "built-in Dockerfile frontend")
		}
	}
	if !warned || !noted {
		t.Errorf("warning %v, syntax note %v: %v", warned, noted, rec.Events())
	}
	e.write(map[string]string{"Dockerfile": "# syntax=example.com/other\nFROM scratch\n"})
	if _, _, err := e.build(context.Background()); err == nil || !strings.Contains(err.Error(), "built-in Dockerfile frontend") {
		t.Errorf("another frontend: %v", err)
	}
}

func TestConfigure(t *testing.T) {
	img := &image.Image{}
	if err := solver.Configure(img, []string{"ENV A=1", `CMD ["sh"]`, "WORKDIR /w"}); err != nil {
		t.Fatal(err)
	}
	c := img.Config.Config
	if strings.Join(c.Env, ",") != "A=1" || strings.Join(c.Cmd, " ") != "sh" || c.WorkingDir != "/w" || len(img.Config.History) != 0 {
		t.Errorf("config %+v history %v", c, img.Config.History)
	}
	if err := solver.Configure(img, []string{"RUN true"}); err == nil {
		t.Error("RUN accepted as a --change")
	}
}

func TestSummary(t *testing.T) {
	e := newEnv(t, map[string]string{"Dockerfile": "FROM scratch AS b\nRUN echo 12345 > /bin.out\nFROM scratch\nCOPY --from=b /bin.out /app\nRUN <<EOF\necho multi\necho line\nEOF\n"})
	res, _ := e.mustBuild()
	s := res.Summary()
	if len(s.Stages) != 2 || s.Target != "stage-1" || len(s.Layers) != 2 || s.Base != 0 {
		t.Fatalf("summary %+v", s)
	}
	if s.Layers[0].From != "b" || s.Layers[0].Size != 6 || strings.Contains(s.Layers[1].CreatedBy, "\n") {
		t.Errorf("layers %+v", s.Layers)
	}
}

// TestSourceDateEpochStage resolves SOURCE_DATE_EPOCH naming a source-only
// stage: the newest file of the archive it downloads.
func TestSourceDateEpochStage(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644, ModTime: time.Unix(1700000402, 0)})
	tw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(buf.Bytes()) }))
	defer srv.Close()
	df := "ARG SOURCE_DATE_EPOCH=src\nFROM scratch AS src\nADD " + srv.URL + "/src.tar /\nFROM scratch\nARG SOURCE_DATE_EPOCH\nENV E=$SOURCE_DATE_EPOCH\n"
	e := newEnv(t, map[string]string{"Dockerfile": df})
	res, _ := e.mustBuild()
	want := time.Unix(1700000402, 0).UTC()
	if res.Epoch == nil || !res.Epoch.Equal(want) {
		t.Fatalf("Epoch = %v, want %v", res.Epoch, want)
	}
	if env := res.Image.Config.Config.Env; len(env) == 0 || env[len(env)-1] != "E=1700000402" {
		t.Errorf("Env = %q, want the resolved epoch", env)
	}
}

// TestWorkdirNamedUserOnEmptyStage checks BuildKit's refusal of a WORKDIR
// whose USER is a name in a stage with no files yet.
func TestWorkdirNamedUserOnEmptyStage(t *testing.T) {
	for _, tt := range []struct {
		df      string
		wantErr bool
	}{
		{"FROM scratch\nUSER app\nWORKDIR /app\n", true},
		{"FROM scratch\nUSER 0:staff\nWORKDIR /app\n", true},
		{"FROM scratch\nUSER 1000:1000\nWORKDIR /app\n", false},
		{"FROM scratch\nUSER root\nWORKDIR /app\n", false},
		{"FROM scratch\nCOPY f /f\nUSER app\nWORKDIR /app\n", false}, // unknown names: root owns it
	} {
		e := newEnv(t, map[string]string{"Dockerfile": tt.df, "f": "F"})
		_, _, err := e.build(context.Background())
		if tt.wantErr {
			var de *dockerfile.Error
			if !errors.As(err, &de) || !strings.Contains(err.Error(), "invalid user index") {
				t.Errorf("%q: err %v, want invalid user index", tt.df, err)
			}
		} else if err != nil {
			t.Errorf("%q: %v", tt.df, err)
		}
	}
}

// Each platform of a build expands its own copy of the Dockerfile's
// commands (expansion rewrites a command in place), with its own TARGET*
// values; and a word with an escaped $ is expanded once.
func TestPlatformsExpandTheirOwnCommands(t *testing.T) {
	e := newEnv(t, map[string]string{
		"Dockerfile": "FROM scratch\nARG TARGETARCH\nCOPY $TARGETARCH.txt /arch.txt\nENV PRICE=\\$5\nCOPY arm64.txt /$PRICE\n",
		"amd64.txt":  "amd64", "arm64.txt": "arm64",
	})
	for i := 0; i < 3; i++ {
		res, _ := e.mustBuild(solver.WithPlatforms("linux/amd64,linux/arm64"), solver.WithNoCache())
		if len(res.Platforms) != 2 {
			t.Fatalf("%d platforms", len(res.Platforms))
		}
		for _, p := range res.Platforms {
			arch := p.Image.Config.Architecture
			if got := file(t, p, p.Image, "arch.txt"); got != arch {
				t.Errorf("run %d, %s: /arch.txt = %q", i, arch, got)
			}
			if got := file(t, p, p.Image, "$5"); got != "arm64" {
				t.Errorf("run %d, %s: /$5 = %q", i, arch, got)
			}
		}
	}
}

// TestCopyWritesTheUpperDir: with overlayfs a COPY writes its layer
// straight into the step's upper dir: the layer holds what it copied and
// the directories above it (copied up from the layer below), it counts
// the bytes it wrote, and the merged tree shows both layers.
func TestCopyWritesTheUpperDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("overlay mounts need root")
	}
	e := newEnv(t, map[string]string{
		"Dockerfile": "FROM scratch\nCOPY bin/ /usr/local/bin/\nCOPY a.txt /usr/local/bin/\n",
		"bin/tool":   "tool\n",
		"a.txt":      "from context\n",
	})
	res, _ := e.mustBuild(solver.WithSnapshotter(snapshot.Overlay))
	if got := file(t, res, res.Image, "usr/local/bin/tool"); got != "tool\n" {
		t.Errorf("tool = %q", got)
	}
	if got := file(t, res, res.Image, "usr/local/bin/a.txt"); got != "from context\n" {
		t.Errorf("a.txt = %q", got)
	}
	top := res.Image.Layers[1]
	if top.Size != int64(len("from context\n")) {
		t.Errorf("second COPY's size = %d, want %d", top.Size, len("from context\n"))
	}
	var names []string
	filepath.WalkDir(top.Dir, func(p string, _ fs.DirEntry, _ error) error {
		rel, _ := filepath.Rel(top.Dir, p)
		names = append(names, rel)
		return nil
	})
	if want := ". usr usr/local usr/local/bin usr/local/bin/a.txt"; strings.Join(names, " ") != want {
		t.Errorf("second COPY's layer holds %q, want %q", names, want)
	}
}
