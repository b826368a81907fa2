package attest

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// entry is one member of a test layer: a file (body), a directory
// (name ending in "/"), a symlink (link) or a whiteout (".wh." name).
type entry struct {
	name string
	mode int64
	body []byte
	link string
}

func layerTar(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.body)), Typeflag: tar.TypeReg}
		switch {
		case strings.HasSuffix(e.name, "/"):
			h.Typeflag, h.Size = tar.TypeDir, 0
		case e.link != "":
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, e.link, 0
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.body); err != nil && h.Size > 0 {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func catalogLayers(t testing.TB, layers ...[]byte) []Package {
	t.Helper()
	c := NewCatalog()
	for _, l := range layers {
		if err := c.Layer(context.Background(), bytes.NewReader(l)); err != nil {
			t.Fatal(err)
		}
	}
	return c.Packages()
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func purls(ps []Package) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.PURL+" @"+p.Location)
	}
	return strings.Join(out, "\n")
}

const debianRelease = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\n"

func TestCatalogDebian(t *testing.T) {
	got := catalogLayers(t, layerTar(t,
		entry{name: "usr/lib/os-release", body: []byte(debianRelease)},
		entry{name: "etc/os-release", link: "../usr/lib/os-release"},
		entry{name: "var/lib/dpkg/", mode: 0o755},
		entry{name: "var/lib/dpkg/status", body: fixture(t, "status")}))
	want := strings.Join([]string{
		"pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12 @/var/lib/dpkg/status",
		"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc @/var/lib/dpkg/status",
		"pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12 @/var/lib/dpkg/status",
	}, "\n")
	if purls(got) != want {
		t.Errorf("got\n%s\nwant\n%s", purls(got), want)
	}
	if got[1].Supplier != "GNU Libc Maintainers <debian-glibc@lists.debian.org>" || got[1].Source != "glibc" || got[1].Type != "deb" {
		t.Errorf("libc6: %+v", got[1])
	}
}

func TestCatalogDistroless(t *testing.T) {
	// distroless keeps one status file per package, beside .md5sums files
	got := catalogLayers(t, layerTar(t,
		entry{name: "var/lib/dpkg/status.d/base", body: []byte("Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n")},
		entry{name: "var/lib/dpkg/status.d/libc6", body: []byte("Package: libc6\nVersion: 2.36-9+deb12u4\nArchitecture: amd64\nSource: glibc\n")},
		entry{name: "var/lib/dpkg/status.d/libc6.md5sums", body: []byte("0123456789abcdef  lib/x86_64-linux-gnu/libc.so.6\n")}))
	want := "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64 @/var/lib/dpkg/status.d/base\n" +
		"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&upstream=glibc @/var/lib/dpkg/status.d/libc6"
	if purls(got) != want {
		t.Errorf("got\n%s\nwant\n%s", purls(got), want)
	}
}

func TestCatalogAlpine(t *testing.T) {
	got := catalogLayers(t, layerTar(t,
		entry{name: "etc/os-release", body: []byte("NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.20.3\n")},
		entry{name: "lib/apk/db/installed", body: fixture(t, "installed")}))
	want := strings.Join([]string{
		"pkg:apk/alpine/busybox-binsh@1.36.1-r29?arch=x86_64&distro=alpine-3.20.3&upstream=busybox @/lib/apk/db/installed",
		"pkg:apk/alpine/ca-certificates-bundle@20240226-r0?arch=x86_64&distro=alpine-3.20.3&upstream=ca-certificates @/lib/apk/db/installed",
		"pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3 @/lib/apk/db/installed",
	}, "\n")
	if purls(got) != want {
		t.Errorf("got\n%s\nwant\n%s", purls(got), want)
	}
	if got[1].License != "MPL-2.0 AND MIT" || license(got[1].License) != "MPL-2.0 AND MIT" {
		t.Errorf("license %q", got[1].License)
	}
}

// TestCatalogLayers checks that what later layers do to a package
// database is what the SBOM sees: the final image's files.
func TestCatalogLayers(t *testing.T) {
	status := fixture(t, "status")
	base := layerTar(t, entry{name: "var/lib/dpkg/", mode: 0o755}, entry{name: "var/lib/dpkg/status", body: status})
	one := []byte("Package: only\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n")
	tests := []struct {
		name  string
		upper []byte
		want  int // packages left
	}{
		{"untouched", layerTar(t, entry{name: "etc/hostname", body: []byte("x\n")}), 3},
		{"whiteout of the file", layerTar(t, entry{name: "var/lib/dpkg/.wh.status"}), 0},
		{"whiteout of a parent", layerTar(t, entry{name: "var/lib/.wh.dpkg"}), 0},
		{"opaque parent", layerTar(t, entry{name: "var/lib/dpkg/", mode: 0o755}, entry{name: "var/lib/dpkg/.wh..wh..opq"}), 0},
		{"parent replaced by a symlink", layerTar(t, entry{name: "var/lib/dpkg", link: "/tmp"}), 0},
		{"whiteout of a sibling", layerTar(t, entry{name: "var/lib/dpkg/.wh.status-old"}), 3},
		{"rewritten", layerTar(t, entry{name: "var/lib/dpkg/status", body: one}), 1},
		{"replaced by a symlink", layerTar(t, entry{name: "var/lib/dpkg/status", link: "status-old"}), 0},
		{"opaque, then written again", layerTar(t, entry{name: "var/lib/dpkg/.wh..wh..opq"},
			entry{name: "var/lib/dpkg/status", body: one}), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := catalogLayers(t, base, tt.upper); len(got) != tt.want {
				t.Errorf("%d packages, want %d:\n%s", len(got), tt.want, purls(got))
			}
		})
	}
}

// goApp builds testdata/goapp, a real Go program with one dependency.
func goApp(t testing.TB) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "goapp")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-buildvcs=false", "-o", out, "./testdata/goapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCatalogGoBinary(t *testing.T) {
	app := goApp(t)
	got := catalogLayers(t, layerTar(t,
		entry{name: "usr/local/bin/app", mode: 0o755, body: app},
		entry{name: "srv/app.copy", mode: 0o644, body: app}, // not executable: not looked at
		entry{name: "usr/local/bin/script", mode: 0o755, body: []byte("#!/bin/sh\necho hi\n")},
		entry{name: "usr/local/bin/tiny", mode: 0o755, body: []byte("\x7fE")}))
	goVersion := strings.TrimPrefix(runtime.Version(), "go")
	var main, dep, std *Package
	for i, p := range got {
		switch p.Name {
		case "github.com/kiln-build/kiln":
			main = &got[i]
		case "golang.org/x/sync":
			dep = &got[i]
		case "stdlib":
			std = &got[i]
		}
	}
	if main == nil || dep == nil || std == nil || len(got) != 3 {
		t.Fatalf("packages:\n%s", purls(got))
	}
	if main.PURL != "pkg:golang/github.com/kiln-build/kiln" || main.Module != "" || main.Location != "/usr/local/bin/app" {
		t.Errorf("main module %+v", *main)
	}
	if !strings.HasPrefix(dep.PURL, "pkg:golang/golang.org/x/sync@v0.") || dep.Module != "github.com/kiln-build/kiln" {
		t.Errorf("dependency %+v", *dep)
	}
	if std.PURL != "pkg:golang/stdlib@"+goVersion || std.Version != runtime.Version() {
		t.Errorf("stdlib %+v, want version %s", *std, runtime.Version())
	}
	// deleted by a later layer: gone
	if got := catalogLayers(t, layerTar(t, entry{name: "usr/local/bin/app", mode: 0o755, body: app}),
		layerTar(t, entry{name: "usr/local/bin/.wh.app"})); len(got) != 0 {
		t.Errorf("a deleted binary is listed:\n%s", purls(got))
	}
}

func TestCatalogFiles(t *testing.T) {
	c := NewCatalog()
	file, done := c.Files()
	if err := file("var/lib/dpkg/status", 0o644, int64(len(fixture(t, "status"))), bytes.NewReader(fixture(t, "status"))); err != nil {
		t.Fatal(err)
	}
	if err := file("etc/os-release", 0o644, int64(len(debianRelease)), strings.NewReader(debianRelease)); err != nil {
		t.Fatal(err)
	}
	done()
	if got := c.Packages(); len(got) != 3 || !strings.Contains(got[0].PURL, "distro=debian-12") {
		t.Errorf("got\n%s", purls(got))
	}
}

func TestCatalogRejectsBrokenTar(t *testing.T) {
	l := layerTar(t, entry{name: "var/lib/dpkg/status", body: fixture(t, "status")})
	if err := NewCatalog().Layer(context.Background(), bytes.NewReader(l[:700])); err == nil {
		t.Error("a truncated layer was read without error")
	}
}

func FuzzCatalogLayer(f *testing.F) {
	f.Add(layerTar(f, entry{name: "var/lib/dpkg/status", body: []byte("Package: a\nVersion: 1\n")}))
	f.Add(layerTar(f, entry{name: "lib/apk/db/installed", body: []byte("P:a\nV:1\n\n")}, entry{name: "x/.wh..wh..opq"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := NewCatalog()
		_ = c.Layer(context.Background(), bytes.NewReader(data))
		_ = c.Packages()
	})
}

func FuzzPackageDatabases(f *testing.F) {
	f.Add([]byte("Package: a\nStatus: install ok installed\nVersion: 1\nSource: b (2)\n\n"))
	f.Add([]byte("P:a\nV:1\nA:x86_64\no:b\n\nP:\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := parseOSRelease(data)
		for _, p := range append(dpkgDB.packages("/s", data, d), apkDB.packages("/a", data, d)...) {
			if p.Name == "" || p.Version == "" || !strings.HasPrefix(p.PURL, "pkg:") {
				t.Fatalf("package %+v", p)
			}
		}
	})
}

// TestCatalogGoToolchainCommand: the Go distribution's own commands (its
// gofmt here) are of the Go version that built them.
func TestCatalogGoToolchainCommand(t *testing.T) {
	gofmt, err := os.ReadFile(filepath.Join(runtime.GOROOT(), "bin", "gofmt"))
	if err != nil {
		t.Skipf("no gofmt in GOROOT: %v", err)
	}
	got := catalogLayers(t, layerTar(t, entry{name: "usr/local/go/bin/gofmt", mode: 0o755, body: gofmt}))
	v := strings.TrimPrefix(runtime.Version(), "go")
	if len(got) == 0 || got[0].Name != "cmd/gofmt" || got[0].Version != runtime.Version() || got[0].PURL != "pkg:golang/cmd/gofmt@"+v {
		t.Errorf("got\n%s", purls(got))
	}
}
