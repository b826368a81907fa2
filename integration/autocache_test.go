package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-build/kiln/source"
)

// The automatic toolchain caches (solver/autocache.go): builder stages
// that run Go get persistent GOCACHE and GOMODCACHE mounts, which travel
// with a mode=max cache, and the image stays the same.

var golangOnce struct {
	sync.Once
	tar string
	err error
}

// golangTar is golang:1.22 made from the local Go toolchain (busybox + a
// copy of /usr/local/go, as examples/offline-base-images.sh makes it),
// saved once per test run; load it into a store with loadGolang.
func golangTar(t *testing.T) string {
	t.Helper()
	goroot := "/usr/local/go"
	if !fileExists(filepath.Join(goroot, "bin", "go")) {
		t.Skip("needs the Go toolchain at /usr/local/go for the offline golang image")
	}
	golangOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kiln-golang-")
		if err != nil {
			golangOnce.err = err
			return
		}
		rootfs := filepath.Join(dir, "rootfs")
		if err := makeBusybox(rootfs); err != nil {
			golangOnce.err = err
			return
		}
		os.MkdirAll(filepath.Join(rootfs, "usr/local"), 0o755)
		os.MkdirAll(filepath.Join(rootfs, "go/bin"), 0o777)
		if b, err := exec.Command("cp", "-a", goroot, filepath.Join(rootfs, "usr/local/go")).CombinedOutput(); err != nil {
			golangOnce.err = err
			t.Logf("cp: %s", b)
			return
		}
		root := filepath.Join(dir, "store")
		if r := kilnIn(t, root, nil, "import", "-c", "ENV PATH=/go/bin:/usr/local/go/bin:"+source.DefaultPath+" GOTOOLCHAIN=local GOPATH=/go",
			"-c", "WORKDIR /go", rootfs, "golang:1.22"); r.code != 0 {
			golangOnce.err = os.ErrInvalid
			t.Logf("import: %s", r.stderr)
			return
		}
		golangOnce.tar = filepath.Join(dir, "golang.tar")
		if r := kilnIn(t, root, nil, "save", "-o", golangOnce.tar, "golang:1.22"); r.code != 0 {
			golangOnce.err = os.ErrInvalid
			t.Logf("save: %s", r.stderr)
		}
		os.RemoveAll(rootfs)
		os.RemoveAll(root)
	})
	if golangOnce.err != nil {
		t.Fatalf("making golang:1.22: %v", golangOnce.err)
	}
	return golangOnce.tar
}

// golangStore is a new store holding golang:1.22.
func golangStore(t *testing.T) string {
	t.Helper()
	tar := golangTar(t)
	root := t.TempDir()
	if r := kilnIn(t, root, nil, "load", "-i", tar); r.code != 0 {
		t.Fatal(r.stderr)
	}
	return root
}

// autoDir is the directory of an automatic cache in a store.
func autoDir(root, id string) string {
	sum := sha256.Sum256([]byte("auto:" + id))
	return filepath.Join(root, "mounts", "cache", hex.EncodeToString(sum[:16]))
}

// filesSince counts the files under dir modified at or after t0: what a
// build wrote into a cache (entries merged from an imported cache keep
// their times).
func filesSince(dir string, t0 time.Time) (since, all int) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		all++
		if fi, err := d.Info(); err == nil && !fi.ModTime().Before(t0.Truncate(time.Second)) {
			since++
		}
		return nil
	})
	return since, all
}

func seedCopy(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "hello")
	if b, err := exec.Command("cp", "-r", "../examples/hello", dir).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, b)
	}
	return dir
}

// imageID builds and returns the image ID (-q), failing the test on error.
func imageID(t *testing.T, root string, args ...string) (string, result) {
	t.Helper()
	iid := filepath.Join(t.TempDir(), "iid")
	r := kilnIn(t, root, nil, append([]string{"build", "--progress=plain", "--iidfile", iid, "--build-arg", "SOURCE_DATE_EPOCH=0"}, args...)...)
	if r.code != 0 {
		t.Fatalf("build %v: %s", args, r.stderr)
	}
	b, _ := os.ReadFile(iid)
	return string(b), r
}

// TestAutoCacheSeedExample: the seed example (golang builder → scratch)
// built cold, then edited and rebuilt: the compiler reuses the build
// cache (the rebuild writes a handful of cache files, the cold build
// hundreds); a fresh store with the registry cache of the first build
// rebuilds the edit as incrementally; and all of them give the image a
// --no-auto-cache build of the edited source gives.
func TestAutoCacheSeedExample(t *testing.T) {
	needSetup(t)
	if testing.Short() {
		t.Skip("compiles a Go program in containers; skipped with -short")
	}
	host := anyRegistry(t)
	ref := host + "/kiln/hello-cache:main"
	dir := seedCopy(t)

	a := golangStore(t)
	goBuild := autoDir(a, "go-build/0")
	t0 := time.Now()
	_, r := imageID(t, a, "--cache-to", "type=registry,ref="+ref+",mode=max", dir)
	if !strings.Contains(r.stderr, "auto cache: /root/.cache/go-build, /go/pkg/mod (stage builder, --no-auto-cache turns it off)") ||
		!strings.Contains(r.stderr, "auto cache: builder: /root/.cache/go-build, /go/pkg/mod") {
		t.Errorf("the build does not say it uses the auto cache:\n%s", r.stderr)
	}
	cold, _ := filesSince(goBuild, t0)
	if cold < 200 {
		t.Fatalf("the cold build wrote %d files into the go build cache, want hundreds (the standard library)", cold)
	}

	// edit one file: the compiler rebuilds main and links, the rest is cached
	main := filepath.Join(dir, "main.go")
	os.WriteFile(main, []byte("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from kiln, edited\") }\n"), 0o644)
	t1 := time.Now()
	edited, _ := imageID(t, a, dir)
	if n, _ := filesSince(goBuild, t1); n == 0 || n > 50 {
		t.Errorf("the edit rebuild wrote %d files into the go build cache, want a few (cold: %d)", n, cold)
	}

	// a fresh store, the registry cache of the first build: as incremental
	b := golangStore(t)
	t2 := time.Now()
	fromCache, r := imageID(t, b, "--cache-from", "type=registry,ref="+ref, dir)
	if !strings.Contains(r.stderr, "auto cache: importing go-build/0") {
		t.Errorf("the fresh store did not import the go build cache:\n%s", r.stderr)
	}
	if n, all := filesSince(autoDir(b, "go-build/0"), t2); n == 0 || n > 50 || all < cold {
		t.Errorf("the fresh store's edit rebuild wrote %d of %d files into the go build cache, want a few (cold: %d)", n, all, cold)
	}

	// the same edited source without the auto cache: the same image
	c := golangStore(t)
	plain, r := imageID(t, c, "--no-auto-cache", dir)
	if strings.Contains(r.stderr, "auto cache") {
		t.Errorf("--no-auto-cache build mentions the auto cache:\n%s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(c, "mounts")); err == nil {
		t.Error("--no-auto-cache made cache dirs")
	}
	if edited != plain || fromCache != plain {
		t.Errorf("image IDs: edit rebuild %s, fresh store + cache %s, --no-auto-cache %s: want one", edited, fromCache, plain)
	}
}

const probeScript = `mkdir -p /root/.cache/go-build /go/pkg/mod
echo probe > /root/.cache/go-build/probe
echo probe > /go/pkg/mod/probe
echo done > /done
`

// TestAutoCacheWhenOthersRead: a probe script (its command line names no
// cache path) writes into both cache paths. Where the auto cache applies
// the writes land in the store's cache dir, not in the stage; a stage
// that copies the whole builder, or from inside a cache path, gets the
// files as written; the target stage never gets the cache.
func TestAutoCacheWhenOthersRead(t *testing.T) {
	needSetup(t)
	root := golangStore(t)
	builder := "FROM golang:1.22 AS builder\nCOPY probe.sh /probe.sh\nRUN sh /probe.sh\n"
	for _, tt := range []struct {
		name, dockerfile string
		want             []string // files of the image
		mounted          []string // cache ids that got the probe
		note             string
	}{
		{"only /done is read", builder + "FROM scratch\nCOPY --from=builder /done /done\n",
			[]string{"done"}, []string{"go-build/0", "go-mod/0"}, "auto cache: builder: /root/.cache/go-build, /go/pkg/mod"},
		{"COPY --from=builder / / reads everything", builder + "FROM scratch\nCOPY --from=builder / /\n",
			[]string{"done", "go/pkg/mod/probe", "root/.cache/go-build/probe"}, nil, "not /root/.cache/go-build for stage builder: another stage reads /"},
		{"a copy from inside the module cache", builder + "FROM scratch\nCOPY --from=builder /go/pkg/mod/probe /probe\n",
			[]string{"probe"}, []string{"go-build/0"}, "not /go/pkg/mod for stage builder: another stage reads /go/pkg/mod/probe"},
		{"the target stage", "FROM golang:1.22\nCOPY probe.sh /probe.sh\nRUN sh /probe.sh\n",
			[]string{"done", "go/pkg/mod/probe", "root/.cache/go-build/probe"}, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, id := range []string{"go-build/0", "go-mod/0"} {
				os.Remove(filepath.Join(autoDir(root, id), "probe"))
			}
			dir := project(t, map[string]string{"Dockerfile": tt.dockerfile, "probe.sh": probeScript})
			r := kilnIn(t, root, nil, "build", "--progress=plain", "-t", "probe:1", dir)
			if r.code != 0 {
				t.Fatal(r.stderr)
			}
			if tt.note != "" && !strings.Contains(r.stderr, tt.note) {
				t.Errorf("no %q in:\n%s", tt.note, r.stderr)
			}
			files := flatten(t, storedImageIn(t, root, "probe:1"))
			for _, f := range tt.want {
				if _, ok := files[f]; !ok {
					t.Errorf("the image lacks %s", f)
				}
			}
			if exact := len(tt.want) == 1; exact && len(files) != 1 {
				var names []string
				for f := range files {
					names = append(names, f)
				}
				if len(names) > 20 {
					names = names[:20]
				}
				t.Errorf("the image has %d files (%v...), want %v", len(files), names, tt.want)
			}
			for _, id := range []string{"go-build/0", "go-mod/0"} {
				_, err := os.Stat(filepath.Join(autoDir(root, id), "probe"))
				mounted := false
				for _, m := range tt.mounted {
					mounted = mounted || m == id
				}
				if (err == nil) != mounted {
					t.Errorf("%s has the probe: %v, want %v", id, err == nil, mounted)
				}
			}
		})
	}
}

// TestAutoCacheConcurrentBuilds: two seed-example builds with other
// sources at once on one store share the cold caches (the go command
// locks within them) and both make the right program.
func TestAutoCacheConcurrentBuilds(t *testing.T) {
	needSetup(t)
	if testing.Short() {
		t.Skip("compiles Go programs in containers; skipped with -short")
	}
	root := golangStore(t)
	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]string, 2)
	for i := range outs {
		dir := seedCopy(t)
		os.WriteFile(filepath.Join(dir, "main.go"), []byte(fmt.Sprintf("package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"build %d\") }\n", i)), 0o644)
		outs[i] = filepath.Join(t.TempDir(), "out")
		wg.Add(1)
		go func(i int, dir string) {
			defer wg.Done()
			if r := kilnIn(t, root, nil, "build", "--progress=plain", "-o", "type=local,dest="+outs[i], dir); r.code != 0 ||
				!strings.Contains(r.stderr, "auto cache: builder:") {
				errs[i] = r.stderr
			}
		}(i, dir)
	}
	wg.Wait()
	for i := range outs {
		if errs[i] != "" {
			t.Errorf("build %d: %s", i, errs[i])
			continue
		}
		got, err := exec.Command(filepath.Join(outs[i], "app")).CombinedOutput()
		if want := fmt.Sprintf("build %d\n", i); err != nil || string(got) != want {
			t.Errorf("build %d's app says %q (%v), want %q", i, got, err, want)
		}
	}
}

// toolsScript is a stand-in for a package manager (no npm, pip or cargo
// image can be made offline here): it "downloads" a package into the
// cache the real tool uses, unless the cache has it, says which, and
// "installs" it into the working directory.
const toolsScript = `#!/bin/sh
tool=${0##*/}
case $tool in
npm) c=${npm_config_cache:-$HOME/.npm}/_cacache ;;
pip) c=${PIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pip}/http ;;
cargo) c=${CARGO_HOME:-$HOME/.cargo}/registry/cache ;;
esac
if [ -f "$c/pkg" ]; then echo "$tool: cache hit"; else echo "$tool: cache miss"; mkdir -p "$c"; echo "$tool package" > "$c/pkg"; fi
mkdir -p deps && cp "$c/pkg" "deps/$tool"
`

// TestAutoCacheDownloadCaches: a builder stage running npm, pip and cargo
// gets their download caches: an edit rebuild finds what the first build
// downloaded, a fresh store finds it in a mode=max local cache, and the
// image is the one a --no-auto-cache build makes.
func TestAutoCacheDownloadCaches(t *testing.T) {
	needSetup(t)
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := makeBusybox(rootfs); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(rootfs, "usr/local/bin")
	os.MkdirAll(bin, 0o755)
	for _, tool := range []string{"npm", "pip", "cargo"} {
		if err := os.WriteFile(filepath.Join(bin, tool), []byte(toolsScript), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tools := filepath.Join(t.TempDir(), "tools.tar")
	seed := t.TempDir()
	if r := kilnIn(t, seed, nil, "import", rootfs, "tools:1"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := kilnIn(t, seed, nil, "save", "-o", tools, "tools:1"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	store := func() string {
		root := t.TempDir()
		if r := kilnIn(t, root, nil, "load", "-i", tools); r.code != 0 {
			t.Fatal(r.stderr)
		}
		return root
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(`FROM tools:1 AS builder
WORKDIR /src
COPY src.txt .
RUN npm ci && pip install -r src.txt && cargo build --release && cat src.txt > /out
FROM scratch
COPY --from=builder /out /out
COPY --from=builder /src/deps /deps
`), 0o644)
	os.WriteFile(filepath.Join(dir, "src.txt"), []byte("v1\n"), 0o644)
	all := []string{"npm", "pip", "cargo"}
	says := func(r result, what string) {
		t.Helper()
		for _, tool := range all {
			if !strings.Contains(r.stderr, tool+": cache "+what) {
				t.Errorf("%s: no %q in:\n%s", tool, "cache "+what, r.stderr)
			}
		}
	}
	cacheDir := filepath.Join(t.TempDir(), "cache")
	a := store()
	_, r := imageID(t, a, "--cache-to", "type=local,dest="+cacheDir+",mode=max", dir)
	says(r, "miss")
	if !strings.Contains(r.stderr, "auto cache: /root/.npm, /root/.cache/pip, /root/.cargo/registry, /root/.cargo/git (stage builder") {
		t.Errorf("the build does not say it uses the caches:\n%s", r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "src.txt"), []byte("v2\n"), 0o644)
	edited, r := imageID(t, a, dir)
	says(r, "hit")
	fresh, r := imageID(t, store(), "--cache-from", "type=local,src="+cacheDir, dir)
	says(r, "hit")
	plain, r := imageID(t, store(), "--no-auto-cache", dir)
	says(r, "miss")
	if edited != plain || fresh != plain {
		t.Errorf("image IDs: edit rebuild %s, fresh store + cache %s, --no-auto-cache %s: want one", edited, fresh, plain)
	}
}
