package cache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/store"
)

func TestKeyFieldsDoNotCollide(t *testing.T) {
	a := NewKey("p", "RUN").Add("args", "a b").String()
	b := NewKey("p", "RUN").AddList("args", []string{"a", "b"}).String()
	c := NewKey("p", "RUN").Add("arg", "sa b").String()
	d := NewKey("p", "COPY").Add("args", "a b").String()
	e := NewKey("q", "RUN").Add("args", "a b").String()
	seen := map[string]bool{}
	for _, k := range []string{a, b, c, d, e} {
		if seen[k] {
			t.Fatalf("two different inputs share key %s", k)
		}
		seen[k] = true
	}
	if a != NewKey("p", "RUN").Add("args", "a b").String() {
		t.Error("the same inputs gave two keys")
	}
	if BaseKey("") != BaseKey("scratch") || BaseKey("sha256:1") == BaseKey("sha256:2") {
		t.Error("BaseKey")
	}
}

func TestIndexRecords(t *testing.T) {
	ix := Open(filepath.Join(t.TempDir(), "cache.db"))
	if _, ok, err := ix.Get("k"); ok || err != nil {
		t.Fatalf("empty index: %v %v", ok, err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := ix.Put("k", Record{Snapshot: "k", Created: now, Bytes: 3}); err != nil {
		t.Fatal(err)
	}
	if err := ix.SetLayer("k", "sha256:d", "sha256:b", "m", 9); err != nil {
		t.Fatal(err)
	}
	if err := ix.SetLayer("missing", "sha256:d", "sha256:b", "m", 9); err != nil {
		t.Fatal(err)
	}
	r, ok, err := ix.Get("k")
	if !ok || err != nil || r.Blob != "sha256:b" || r.DiffID != "sha256:d" || r.Size != 9 || r.Bytes != 3 || !r.Created.Equal(now) {
		t.Errorf("record %+v %v %v", r, ok, err)
	}
	if _, ok, _ := ix.Get("missing"); ok {
		t.Error("SetLayer made a record")
	}
}

func TestStatCacheReadsOnlyChangedFiles(t *testing.T) {
	dir := t.TempDir()
	ix := Open(filepath.Join(t.TempDir(), "cache.db"))
	for _, n := range []string{"a", "b", "c"} {
		os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644)
	}
	digestAll := func() (map[string]string, int, int) {
		sc, err := NewStatCache(ix, dir)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range []string{"a", "b", "c"} {
			p := filepath.Join(dir, n)
			fi, _ := os.Lstat(p)
			if out[n], err = sc.Digest(p, fi); err != nil {
				t.Fatal(err)
			}
		}
		files, read := sc.Counts()
		if err := sc.Flush(); err != nil {
			t.Fatal(err)
		}
		return out, files, read
	}
	first, files, read := digestAll()
	if files != 3 || read != 3 {
		t.Errorf("cold: %d/%d", files, read)
	}
	second, _, read := digestAll()
	if read != 0 || second["a"] != first["a"] {
		t.Errorf("warm: read %d", read)
	}
	os.WriteFile(filepath.Join(dir, "b"), []byte("B"), 0o644)
	third, _, read := digestAll()
	if read != 1 || third["b"] == first["b"] || third["a"] != first["a"] {
		t.Errorf("after an edit: read %d", read)
	}
}

func TestParseSpec(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Spec
		err  string
	}{
		{"type=registry,ref=r/c:1", Spec{Type: "registry", Ref: "r/c:1", MountMax: DefaultMountMax}, ""},
		{"type=registry,ref=r/c,mode=max", Spec{Type: "registry", Ref: "r/c", Max: true, MountMax: DefaultMountMax}, ""},
		{"type=local,dest=/d", Spec{Type: "local", Dir: "/d", MountMax: DefaultMountMax}, ""},
		{"type=local,src=/d", Spec{Type: "local", Dir: "/d", MountMax: DefaultMountMax}, ""},
		{"r/c:1", Spec{Type: "registry", Ref: "r/c:1", MountMax: DefaultMountMax}, ""},
		{"type=local,dest=/d,mode=max,auto-cache-max=200m", Spec{Type: "local", Dir: "/d", Max: true, MountMax: 200 << 20}, ""},
		{"type=local,dest=/d,mode=max,auto-cache-max=0", Spec{Type: "local", Dir: "/d", Max: true}, ""},
		{"type=local,dest=/d,auto-cache-max=lots", Spec{}, "auto-cache-max=lots"},
		{"type=registry", Spec{}, "needs ref="},
		{"type=local", Spec{}, "needs dest="},
		{"type=gha", Spec{}, "type must be registry or local"},
		{"type=local,dest=/d,mode=all", Spec{}, "mode must be min or max"},
		{"type=local,dest=/d,bogus=1", Spec{}, `unknown attribute "bogus"`},
	} {
		got, err := ParseSpec("--cache-to", tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "--cache-to") {
				t.Errorf("%q: err %v, want %q naming the flag", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %+v %v, want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestPushPullLocal(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, size, err := st.WriteBlob(strings.NewReader("layer bytes"), v1.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	rec := Exported{Key: "k1", DiffID: "sha256:" + strings.Repeat("a", 64), Created: time.Unix(5, 0).UTC(),
		Blob: v1.Descriptor{Digest: d, Size: size, MediaType: types.OCILayer}}
	md, msize, err := st.WriteBlob(strings.NewReader("mount bytes"), v1.Hash{})
	if err != nil {
		t.Fatal(err)
	}
	rec.Mounts = []string{"go-mod/0"}
	mount := Mount{ID: "go-mod/0", DiffID: "sha256:" + strings.Repeat("b", 64), Bytes: 11,
		Blob: v1.Descriptor{Digest: md, Size: msize, MediaType: types.OCILayer}}
	sp := Spec{Type: "local", Dir: filepath.Join(t.TempDir(), "c")}
	if err := Push(context.Background(), sp, []Exported{rec}, []Mount{mount}, st); err != nil {
		t.Fatal(err)
	}
	// pushing again replaces the cache image, it does not add one
	if err := Push(context.Background(), sp, []Exported{rec}, []Mount{mount}, st); err != nil {
		t.Fatal(err)
	}
	r, err := Pull(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := r.Lookup("k1")
	if !ok || got.Blob.Digest != d || !got.Created.Equal(rec.Created) {
		t.Fatalf("lookup %+v %v", got, ok)
	}
	if _, ok := r.Lookup("k2"); ok {
		t.Error("unknown key found")
	}
	rc, err := r.Fetch(got)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	buf := make([]byte, 64)
	n, _ := rc.Read(buf)
	if string(buf[:n]) != "layer bytes" {
		t.Errorf("blob %q", buf[:n])
	}
	if len(got.Mounts) != 1 || got.Mounts[0] != "go-mod/0" {
		t.Errorf("record mounts %v", got.Mounts)
	}
	m, ok := r.Mount("go-mod/0")
	if !ok || m.Blob.Digest != md || m.Bytes != 11 {
		t.Fatalf("mount %+v %v", m, ok)
	}
	mrc, err := r.FetchBlob(m.Blob)
	if err != nil {
		t.Fatal(err)
	}
	n, _ = mrc.Read(buf)
	mrc.Close()
	if string(buf[:n]) != "mount bytes" {
		t.Errorf("mount blob %q", buf[:n])
	}
	if _, ok := r.Mount("go-build/0"); ok {
		t.Error("unknown mount found")
	}
	if _, err := Pull(context.Background(), Spec{Type: "local", Dir: t.TempDir()}); err == nil {
		t.Error("an empty dir pulled as a cache")
	}
}

func TestPruneKeepsRecentlyUsed(t *testing.T) {
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sn, err := snapshot.Open(st, snapshot.Native)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{"old", "new"} {
		a, err := sn.Prepare(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(a.Root(), "f"), []byte(strings.Repeat("x", 100)), 0o644)
		if err := a.Commit(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		a.Release()
		when := time.Now().Add(time.Duration(i-2) * time.Hour)
		os.Chtimes(filepath.Join(st.Root(), "snapshots", id), when, when)
	}
	rep, err := Prune(st, PruneOptions{Until: 90 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Snapshots != 1 || sn.Exists("old") || !sn.Exists("new") {
		t.Errorf("until=90m: %+v", rep)
	}
	rep, err = Prune(st, PruneOptions{KeepBytes: 1000})
	if err != nil || rep.Snapshots != 0 || !sn.Exists("new") {
		t.Errorf("keep 1000 bytes: %+v %v", rep, err)
	}
	u, err := DiskUsage(st)
	if err != nil || u.Snapshots != 1 || u.SnapshotBytes != 100 {
		t.Errorf("usage %+v %v", u, err)
	}
	if rep, err = Prune(st, PruneOptions{}); err != nil || rep.Snapshots != 1 || sn.Exists("new") {
		t.Errorf("full prune: %+v %v", rep, err)
	}
}
