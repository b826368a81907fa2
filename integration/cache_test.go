package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ranSteps lists the steps a build executed (not CACHED), as "stage n/m",
// from its --progress=rawjson events.
func ranSteps(stderr string) []string {
	var out []string
	for _, r := range events(stderr) {
		if r.Type == "step.done" && regexp.MustCompile(`^(RUN|COPY|ADD|WORKDIR)`).MatchString(r.Name) {
			out = append(out, r.Stage+" "+strconv.Itoa(r.Index)+"/"+strconv.Itoa(r.Total))
		}
	}
	sort.Strings(out)
	return out
}

// TestCacheRebuilds: what runs and what is CACHED as inputs change.
func TestCacheRebuilds(t *testing.T) {
	needSetup(t)
	root := t.TempDir()
	if r := kilnIn(t, root, nil, "import", bbRootfs(t), "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	dir := project(t, map[string]string{
		"Dockerfile": `FROM busybox AS builder
WORKDIR /src
COPY main.txt .
RUN cat main.txt > built
ARG V=1
RUN echo "v=$V" > version
FROM scratch
COPY --from=builder /src/built /src/version /
`,
		"main.txt":  "one\n",
		"other.txt": "not copied\n",
	})
	build := func(args ...string) result {
		t.Helper()
		r := kilnIn(t, root, nil, append(append([]string{"build", "--progress=rawjson", "-t", "c:1"}, args...), dir)...)
		if r.code != 0 {
			t.Fatalf("build: %s", r.stderr)
		}
		return r
	}
	imageID := func(r result) string {
		m := regexp.MustCompile(`image (sha256:[0-9a-f]+)`).FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("no image id in:\n%s", r.stderr)
		}
		return m[1]
	}
	first := build()
	all := []string{"builder 2/6", "builder 3/6", "builder 4/6", "builder 6/6", "stage-1 2/2"}
	if got := ranSteps(first.stderr); strings.Join(got, ",") != strings.Join(all, ",") {
		t.Errorf("cold build ran %v, want %v", got, all)
	}
	cases := []struct {
		name   string
		change func()
		args   []string
		want   []string
	}{
		{"no-op", func() {}, nil, nil},
		{"touch without change", func() {
			now := time.Now().Add(time.Hour)
			os.Chtimes(filepath.Join(dir, "main.txt"), now, now)
		}, nil, nil},
		{"edit a file no step copies", func() { os.WriteFile(filepath.Join(dir, "other.txt"), []byte("changed"), 0o644) }, nil, nil},
		{"build arg used after its ARG", nil, []string{"--build-arg", "V=2"}, []string{"builder 6/6", "stage-1 2/2"}},
		{"undeclared build arg", nil, []string{"--build-arg", "V=2", "--build-arg", "UNUSED=x"}, nil},
		{"edit the copied file", func() { os.WriteFile(filepath.Join(dir, "main.txt"), []byte("two\n"), 0o644) }, []string{"--build-arg", "V=2"},
			[]string{"builder 3/6", "builder 4/6", "builder 6/6", "stage-1 2/2"}},
		{"no-cache", nil, []string{"--build-arg", "V=2", "--no-cache"}, all},
		{"no-cache-filter", nil, []string{"--build-arg", "V=2", "--no-cache-filter", "builder"}, all[:4]},
	}
	prevID := imageID(first)
	for _, c := range cases {
		if c.change != nil {
			c.change()
		}
		r := build(c.args...)
		if got := ranSteps(r.stderr); strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: ran %v, want %v\n%s", c.name, got, c.want, r.stderr)
		}
		id := imageID(r)
		if c.want == nil && id != prevID {
			t.Errorf("%s: image ID changed on a fully cached rebuild (%s → %s)", c.name, prevID, id)
		}
		prevID = id
	}
}

// TestContextStatCache: a warm rebuild of a large context reads no file
// that did not change; an edited file is read again.
func TestContextStatCache(t *testing.T) {
	needSetup(t)
	files := map[string]string{"Dockerfile": "FROM scratch\nCOPY . /ctx/\n"}
	for i := 0; i < 2000; i++ {
		files[filepath.Join("src", strconv.Itoa(i%20), strconv.Itoa(i)+".txt")] = strconv.Itoa(i)
	}
	dir := project(t, files)
	root := t.TempDir()
	read := func() string {
		t.Helper()
		r := kilnIn(t, root, nil, "build", "-t", "ctx:1", dir)
		if r.code != 0 {
			t.Fatal(r.stderr)
		}
		m := regexp.MustCompile(`context: (\d+) files (?:checked, (\d+) )?read`).FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("no context line:\n%s", r.stderr)
		}
		if m[2] == "" { // "N files read": all of them
			m[2] = m[1]
		}
		return m[1] + "/" + m[2]
	}
	if got := read(); got != "2001/2001" {
		t.Errorf("cold: %s checked/read", got)
	}
	if got := read(); got != "2001/0" {
		t.Errorf("warm: %s checked/read, want nothing read", got)
	}
	os.WriteFile(filepath.Join(dir, "src", "3", "3.txt"), []byte("changed"), 0o644)
	if got := read(); got != "2001/1" {
		t.Errorf("after one edit: %s checked/read", got)
	}
}
