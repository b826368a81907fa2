package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/kiln-build/kiln/internal/cli"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/runtime"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
)

// storeRoot is a store shared by the tests, holding busybox:latest.
var storeRoot string
var skipReason string

func TestMain(m *testing.M) {
	runtime.Init()
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	switch {
	case os.Geteuid() != 0:
		skipReason = "needs root (overlay mounts, containers)"
	case !fileExists("/bin/busybox"):
		skipReason = "needs a static busybox at /bin/busybox (apt-get install busybox-static)"
	}
	if skipReason != "" {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "kiln-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	storeRoot = filepath.Join(dir, "store")
	rootfs := filepath.Join(dir, "busybox")
	if err := makeBusybox(rootfs); err != nil {
		fmt.Fprintln(os.Stderr, "making busybox rootfs:", err)
		return 1
	}
	var out, errb bytes.Buffer
	if code := cli.Execute(context.Background(), []string{"--root", storeRoot, "import",
		"-c", "ENV PATH=" + source.DefaultPath, "-c", `CMD ["sh"]`, rootfs, "busybox:latest"}, nil, &out, &errb); code != 0 {
		fmt.Fprintln(os.Stderr, "importing busybox:", errb.String())
		return 1
	}
	return m.Run()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// makeBusybox lays out a busybox root filesystem like the examples' script.
func makeBusybox(r string) error {
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "tmp", "home", "var/tmp", "proc", "sys", "dev"} {
		if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
			return err
		}
	}
	os.Chmod(filepath.Join(r, "tmp"), 0o1777)
	os.Chmod(filepath.Join(r, "root"), 0o700)
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(r, "bin/busybox"), bb, 0o755); err != nil {
		return err
	}
	list, err := exec.Command("/bin/busybox", "--list-full").Output()
	if err != nil {
		return err
	}
	for _, p := range strings.Fields(string(list)) {
		if p == "bin/busybox" || fileExists(filepath.Join(r, p)) {
			continue
		}
		if err := os.Symlink("/bin/busybox", filepath.Join(r, p)); err != nil {
			return err
		}
	}
	passwd := "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	group := "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n"
	if err := os.WriteFile(filepath.Join(r, "etc/passwd"), []byte(passwd), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r, "etc/group"), []byte(group), 0o644)
}

func needSetup(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// result is what one kiln command printed.
type result struct {
	code           int
	stdout, stderr string
}

// kiln runs the kiln CLI in process against the shared store.
func kiln(t *testing.T, args ...string) result {
	t.Helper()
	return kilnIn(t, storeRoot, nil, args...)
}

func kilnIn(t *testing.T, root string, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Execute(context.Background(), append([]string{"--root", root}, args...), stdin, &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// mustKiln runs kiln and fails the test on a non-zero exit.
func mustKiln(t *testing.T, args ...string) result {
	t.Helper()
	r := kiln(t, args...)
	if r.code != 0 {
		t.Fatalf("kiln %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// project writes files (path → content) into a new context dir.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// storedImage opens a named image in the shared store.
func storedImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	return storedImageIn(t, storeRoot, ref)
}

// storedImageIn opens a named image in the store at root.
func storedImageIn(t *testing.T, root, ref string) v1.Image {
	t.Helper()
	st, err := store.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, _ := store.Normalize(ref)
	desc, err := st.Lookup(n)
	if err != nil {
		t.Fatalf("image %s: %v", ref, err)
	}
	img, err := layout.Path(root).Image(desc.Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// entry is one file of a flattened image.
type entry struct {
	typ      byte
	mode     int64
	uid, gid int
	link     string
	body     string
}

// flatten applies the image's layers (whiteouts included) as any OCI
// consumer would, and returns its files.
func flatten(t *testing.T, img v1.Image) map[string]entry {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	out := map[string]entry{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		out[strings.TrimSuffix(h.Name, "/")] = entry{typ: h.Typeflag, mode: h.Mode & 0o7777, uid: h.Uid, gid: h.Gid, link: h.Linkname, body: string(body)}
	}
}

// events parses the --progress=rawjson records a command printed.
func events(stderr string) []progress.Record {
	var out []progress.Record
	for _, l := range strings.Split(stderr, "\n") {
		var r progress.Record
		if strings.HasPrefix(l, "{") && json.Unmarshal([]byte(l), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}
