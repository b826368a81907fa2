package export_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/runtime/runtimetest"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/store"
)

const multiStage = "FROM scratch AS builder\nCOPY src.txt /src.txt\nRUN echo built > /artifact\nFROM scratch\nCOPY --from=builder /artifact /app/artifact\nCMD [\"/app/artifact\"]\n"

type fixture struct {
	t    *testing.T
	st   *store.Store
	dir  string
	exec *runtimetest.Fake
}

func newFixture(t *testing.T, dockerfile string) *fixture {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644)
	os.WriteFile(filepath.Join(dir, "src.txt"), []byte("source\n"), 0o644)
	return &fixture{t: t, st: st, dir: dir, exec: &runtimetest.Fake{}}
}

func (f *fixture) build(opts ...solver.Option) *solver.Result {
	f.t.Helper()
	opts = append([]solver.Option{solver.WithExecutor(f.exec), solver.WithSnapshotter(snapshot.Native)}, opts...)
	res, err := solver.Build(context.Background(), f.st, f.dir, opts...)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { res.Close() })
	return res
}

func TestWriteImageNamesIt(t *testing.T) {
	f := newFixture(t, multiStage)
	res := f.build()
	rec := &progress.Recorder{}
	rep, err := export.Write(context.Background(), f.st, res, []export.Output{{Type: "image"}},
		export.WithTags("app:1", "example.com/team/app"), export.WithProgress(rec))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Names) != 2 || rep.Names[0] != "docker.io/library/app:1" || rep.Names[1] != "example.com/team/app:latest" {
		t.Errorf("names %v", rep.Names)
	}
	desc, err := f.st.Lookup("docker.io/library/app:1")
	if err != nil || desc.Digest != rep.Manifest.Digest {
		t.Fatalf("store has %v, %v; want %v", desc, err, rep.Manifest)
	}
	img, _ := f.st.Image(desc.Digest)
	id, _ := img.ConfigName()
	cf, _ := img.ConfigFile()
	if id.String() != rep.ImageID || len(cf.RootFS.DiffIDs) != 1 || cf.Config.Cmd[0] != "/app/artifact" {
		t.Errorf("image %s config %+v", id, cf)
	}
	raw, err := f.st.Record("build", desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	var br image.Record
	json.Unmarshal(raw, &br)
	if len(br.Layers) != 1 || br.Layers[0].Made.Stage != "stage-1" || br.Layers[0].FromStage != "builder" ||
		strings.Join(br.Layers[0].Made.Sources, ",") != "/artifact" || br.Layers[0].Made.Line != 5 ||
		br.Layers[0].Digest != cf.RootFS.DiffIDs[0].String() && br.Layers[0].DiffID != cf.RootFS.DiffIDs[0].String() ||
		len(br.Stages) != 2 || br.Stages[0].Bytes != 13 || br.Stages[1].Base != "scratch" {
		t.Errorf("build record %s", raw)
	}
	if !strings.Contains(strings.Join(rec.Notes(), "\n"), "naming to docker.io/library/app:1") {
		t.Errorf("notes %v", rec.Notes())
	}
	// the export is remembered: a second one reuses the layer blob
	res2 := f.build()
	rep2, err := export.Write(context.Background(), f.st, res2, []export.Output{{Type: "image"}})
	if err != nil || rep2.Manifest.Digest != rep.Manifest.Digest {
		t.Errorf("rebuild exported %v (%v), want the same manifest %v", rep2.Manifest.Digest, err, rep.Manifest.Digest)
	}
}

func TestWriteArchivesAndFiles(t *testing.T) {
	f := newFixture(t, multiStage)
	res := f.build()
	out := t.TempDir()
	outs := []export.Output{
		{Type: "oci", Dest: filepath.Join(out, "oci.tar")},
		{Type: "docker", Dest: filepath.Join(out, "docker.tar")},
		{Type: "tar", Dest: filepath.Join(out, "flat.tar")},
		{Type: "local", Dest: filepath.Join(out, "local")},
	}
	if _, err := export.Write(context.Background(), f.st, res, outs, export.WithTags("app:2")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "local", "app", "artifact")); err != nil || string(b) != "built\n" {
		t.Errorf("local: %q %v", b, err)
	}
	if names := tarNames(t, filepath.Join(out, "flat.tar")); !strings.Contains(names, "app/artifact") {
		t.Errorf("flat tar: %s", names)
	}
	if names := tarNames(t, filepath.Join(out, "oci.tar")); !strings.Contains(names, "index.json") || !strings.Contains(names, "blobs/sha256/") {
		t.Errorf("oci tar: %s", names)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(filepath.Join(out, "docker.tar")) })
	if err != nil || len(m) != 1 || m[0].RepoTags[0] != "docker.io/library/app:2" {
		t.Errorf("docker manifest %+v %v", m, err)
	}
	if _, err := f.st.Lookup("docker.io/library/app:2"); err == nil {
		t.Error("archive outputs named the image in the store")
	}
}

func TestWriteFailureTagsNothing(t *testing.T) {
	f := newFixture(t, multiStage)
	res := f.build()
	outs := []export.Output{{Type: "image"}, {Type: "oci", Dest: t.TempDir()}} // a dir: refused
	if _, err := export.Write(context.Background(), f.st, res, outs, export.WithTags("half:1")); err == nil ||
		!strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("err = %v", err)
	}
	if _, err := f.st.Lookup("docker.io/library/half:1"); err == nil {
		t.Error("a failed export left the image tagged")
	}
}

// With SOURCE_DATE_EPOCH, the build's mtimes are clamped by default (and a
// second export reuses the clamped blobs); rewrite-timestamp=false keeps them.
func TestWriteRewriteTimestamp(t *testing.T) {
	f := newFixture(t, "FROM scratch\nCOPY src.txt /src.txt\n")
	res := f.build(solver.WithBuildArgs(map[string]string{"SOURCE_DATE_EPOCH": "1000"}))
	newest := func(outs ...export.Output) (time.Time, v1.Hash) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "o.tar")
		outs = append(outs, export.Output{Type: "docker", Dest: out})
		if _, err := export.Write(context.Background(), f.st, res, outs); err != nil {
			t.Fatal(err)
		}
		img, err := tarball.ImageFromPath(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		rc, _ := layers[0].Uncompressed()
		defer rc.Close()
		var last time.Time
		for tr := tar.NewReader(rc); ; {
			h, err := tr.Next()
			if err != nil {
				break
			}
			if h.ModTime.After(last) {
				last = h.ModTime
			}
		}
		d, _ := layers[0].Digest()
		return last, d
	}
	epoch := time.Unix(1000, 0)
	last, d1 := newest()
	if last.After(epoch) {
		t.Errorf("newest mtime %v after the epoch", last)
	}
	blobs := countBlobs(t, f.st)
	if last, d2 := newest(); last.After(epoch) || d2 != d1 || countBlobs(t, f.st) != blobs {
		t.Errorf("second export: newest %v, layer %v (first %v), %d blobs (first %d)", last, d2, d1, countBlobs(t, f.st), blobs)
	}
	if last, _ := newest(export.Output{Type: "image", KeepTimestamps: true}); !last.After(epoch) {
		t.Errorf("rewrite-timestamp=false: newest mtime %v, want the file's own", last)
	}
}

func countBlobs(t *testing.T, st *store.Store) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(st.Root(), "blobs"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWritePushes(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	f := newFixture(t, multiStage)
	res := f.build()
	rep, err := export.Write(context.Background(), f.st, res, []export.Output{{Type: "image", Push: true}},
		export.WithTags(host+"/team/app:1"))
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(host + "/team/app:1")
	d, err := remote.Head(ref)
	if err != nil || d.Digest != rep.Manifest.Digest {
		t.Errorf("registry has %v (%v), want %v", d, err, rep.Manifest.Digest)
	}
	if _, err := export.Write(context.Background(), f.st, res, []export.Output{{Type: "image", Push: true}}); err == nil {
		t.Error("a push without a name was accepted")
	}
}

func TestCacheRoundTripThroughLocalDir(t *testing.T) {
	a := newFixture(t, multiStage)
	cacheDir := filepath.Join(t.TempDir(), "cache")
	res := a.build()
	if _, err := export.Write(context.Background(), a.st, res, []export.Output{{Type: "image"}},
		export.WithCacheTo("type=local,mode=max,dest="+cacheDir)); err != nil {
		t.Fatal(err)
	}
	// a fresh store, the same context: every step comes from the cache
	b := newFixture(t, multiStage)
	b.dir = a.dir
	rec := &progress.Recorder{}
	res2 := b.build(solver.WithCacheFrom("type=local,src="+cacheDir), solver.WithProgress(rec))
	if len(b.exec.Calls()) != 0 || rec.Count("cached") != 3 {
		t.Errorf("fresh store ran %d RUNs; steps %v", len(b.exec.Calls()), rec.Steps())
	}
	pulled := func() int {
		n := 0
		for _, note := range rec.Notes() {
			if strings.HasPrefix(note, "pulling cached layer") {
				n++
			}
		}
		return n
	}
	if n := pulled(); n != 0 {
		t.Errorf("the build pulled %d cached layers; only an export needs them", n)
	}
	out := filepath.Join(t.TempDir(), "local")
	if _, err := export.Write(context.Background(), b.st, res2, []export.Output{{Type: "local", Dest: out}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "app", "artifact")); string(got) != "built\n" {
		t.Errorf("artifact %q", got)
	}
	if n := pulled(); n != 1 {
		t.Errorf("the export pulled %d cached layers, want the final image's 1", n)
	}
}

func TestImport(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "os-release"), []byte("ID=test\n"), 0o644)
	n, err := export.Import(context.Background(), st, root, "base:1", []string{"ENV A=1", `CMD ["sh"]`}, "")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := st.Lookup(n)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := st.Image(desc.Digest)
	cf, _ := img.ConfigFile()
	if cf.Config.Env[0] != "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" || cf.Config.Env[1] != "A=1" ||
		cf.Config.Cmd[0] != "sh" || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("config %+v", cf)
	}
	sn, _ := snapshot.Open(st, snapshot.Native)
	if b, err := os.ReadFile(filepath.Join(sn.Path(snapshot.LayerID(cf.RootFS.DiffIDs[0])), "etc", "os-release")); err != nil || string(b) != "ID=test\n" {
		t.Errorf("the layer's snapshot was not kept: %q %v", b, err)
	}
}

func tarNames(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	return strings.Join(names, " ")
}

const goMultiStage = "FROM scratch AS builder\nENV GOPATH=/go\nCOPY src.txt /src.txt\nRUN echo built > /artifact\n" +
	"FROM scratch\nCOPY --from=builder /artifact /app/artifact\n"

// writeCaches makes the fake RUN write name=content into each automatic
// cache dir it mounts (as the go command fills its caches) and record
// what those dirs held before.
func writeCaches(f *fixture, name string, seen map[string][]string) {
	f.exec.Hook = func(ctx context.Context, c runtimetest.Call) (bool, int, error) {
		for _, m := range c.Mounts {
			if !strings.Contains(m.Source, filepath.Join("mounts", "cache")) {
				continue
			}
			ents, _ := os.ReadDir(m.Source)
			for _, e := range ents {
				seen[m.Destination] = append(seen[m.Destination], e.Name())
			}
			os.WriteFile(filepath.Join(m.Source, name), []byte(strings.Repeat("x", 100)), 0o644)
		}
		return false, 0, nil
	}
}

// The automatic toolchain caches travel with a mode=max cache: a fresh
// store's RUN finds what the first store's wrote, and a build that only
// reuses steps exports them as it imported them.
func TestAutoCacheRoundTripThroughLocalDir(t *testing.T) {
	ctx := context.Background()
	a := newFixture(t, goMultiStage)
	writeCaches(a, "from-a", map[string][]string{})
	cacheDir := filepath.Join(t.TempDir(), "cache")
	res := a.build()
	if _, err := export.Write(ctx, a.st, res, []export.Output{{Type: "image"}},
		export.WithCacheTo("type=local,mode=max,dest="+cacheDir)); err != nil {
		t.Fatal(err)
	}
	mounts := func(dir string) map[string]string {
		r, err := cache.Pull(ctx, cache.Spec{Type: "local", Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, id := range []string{"go-build/0", "go-mod/0"} {
			if m, ok := r.Mount(id); ok {
				out[id] = m.Blob.Digest.String()
			}
		}
		return out
	}
	first := mounts(cacheDir)
	if len(first) != 2 {
		t.Fatalf("exported mounts %v, want go-build/0 and go-mod/0", first)
	}

	// a fresh store reuses every step (the module cache comes along)
	b := newFixture(t, goMultiStage)
	b.dir = a.dir
	seen := map[string][]string{}
	writeCaches(b, "from-b", seen)
	rec := &progress.Recorder{}
	res2 := b.build(solver.WithCacheFrom("type=local,src="+cacheDir), solver.WithProgress(rec))
	if len(b.exec.Calls()) != 0 {
		t.Errorf("fresh store ran %d RUNs; steps %v", len(b.exec.Calls()), rec.Steps())
	}
	again := filepath.Join(t.TempDir(), "again")
	if _, err := export.Write(ctx, b.st, res2, []export.Output{{Type: "image"}},
		export.WithCacheTo("type=local,mode=max,dest="+again)); err != nil {
		t.Fatal(err)
	}
	if got := mounts(again); got["go-build/0"] != first["go-build/0"] || got["go-mod/0"] != first["go-mod/0"] {
		t.Errorf("a build that ran nothing exported mounts %v, want the imported %v", got, first)
	}

	// an edit: the RUN runs on caches restored from the first store
	os.WriteFile(filepath.Join(b.dir, "src.txt"), []byte("edited\n"), 0o644)
	res3 := b.build(solver.WithCacheFrom("type=local,src="+cacheDir), solver.WithProgress(rec))
	if len(b.exec.Calls()) != 1 {
		t.Fatalf("after an edit ran %d RUNs, want 1", len(b.exec.Calls()))
	}
	for _, dest := range []string{"/root/.cache/go-build", "/go/pkg/mod"} {
		if strings.Join(seen[dest], ",") != "from-a" {
			t.Errorf("the RUN found %v in %s, want the first store's from-a", seen[dest], dest)
		}
	}
	// bounded: the module cache (all or nothing) stays out, the build
	// cache keeps its newest files
	small := filepath.Join(t.TempDir(), "small")
	if _, err := export.Write(ctx, b.st, res3, []export.Output{{Type: "image"}}, export.WithProgress(rec),
		export.WithCacheTo("type=local,mode=max,auto-cache-max=150,dest="+small)); err != nil {
		t.Fatal(err)
	}
	got := mounts(small)
	if _, ok := got["go-mod/0"]; ok || got["go-build/0"] == "" || got["go-build/0"] == first["go-build/0"] {
		t.Errorf("bounded export %v", got)
	}
	notes := strings.Join(rec.Notes(), "\n")
	if !strings.Contains(notes, "go-mod/0 is larger than auto-cache-max=150 B: not exported") ||
		!strings.Contains(notes, "go-build/0 is larger than auto-cache-max=150 B: exporting its newest 100 B") {
		t.Errorf("notes:\n%s", notes)
	}
}
