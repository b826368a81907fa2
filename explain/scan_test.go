package explain

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// factString is "kind what path" for comparing.
func factStrings(fs []*fact) []string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s", f.Kind, f.What, f.Path))
	}
	return out
}

func TestScanFacts(t *testing.T) {
	tool, program := binaries(t)
	tests := []struct {
		name    string
		entries []entry
		want    []string
	}{
		{"Go toolchain in its GOROOT", []entry{exe("/usr/local/go/bin/gofmt", tool), file("/usr/local/go/VERSION", "go1.22.0\n")},
			[]string{"toolchain Go toolchain /usr/local/go"}},
		{"Go toolchain binary on its own", []entry{exe("/usr/bin/gofmt", tool)},
			[]string{"toolchain Go toolchain /usr/bin/gofmt"}},
		{"Go toolchain renamed", []entry{exe("/app", tool)},
			[]string{"toolchain Go toolchain /app"}},
		{"Go program named go is not a toolchain", []entry{exe("/usr/local/bin/go", program)}, nil},
		{"Go program", []entry{exe("/app", program), file("/etc/passwd", "root:x:0:0::/:/bin/sh\n")}, nil},
		{"cc1 in GCC's libexec", []entry{exe("/usr/libexec/gcc/x86_64-linux-gnu/12/cc1", fakeELF)},
			[]string{"toolchain GCC /usr/libexec/gcc/x86_64-linux-gnu/12"}},
		{"a script named cc1 is not GCC", []entry{exe("/usr/bin/cc1", []byte("#!/bin/sh\necho hi\n"))}, nil},
		{"gcc driver", []entry{exe("/usr/bin/x86_64-linux-gnu-gcc-12", fakeELF)},
			[]string{"toolchain GCC /usr/bin/x86_64-linux-gnu-gcc-12"}},
		{"clang", []entry{exe("/usr/lib/llvm-16/bin/clang-16", fakeELF)},
			[]string{"toolchain Clang /usr/lib/llvm-16/bin/clang-16"}},
		{"javac in a JDK", []entry{exe("/opt/java/openjdk/bin/javac", fakeELF), file("/opt/java/openjdk/release", "JAVA_VERSION=17\n")},
			[]string{"toolchain JDK (javac) /opt/java/openjdk"}},
		{"rustc in a rustup toolchain", []entry{exe("/usr/local/rustup/toolchains/1.77-x86_64/bin/rustc", fakeELF),
			file("/usr/local/rustup/toolchains/1.77-x86_64/lib/rustlib/components", "rustc\n")},
			[]string{"toolchain Rust toolchain /usr/local/rustup/toolchains/1.77-x86_64"}},
		{"node-gyp", []entry{file("/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js", "#!/usr/bin/env node\n")},
			[]string{"toolchain node-gyp /usr/local/lib/node_modules/npm/node_modules/node-gyp"}},
		{"caches", []entry{
			file("/root/.cache/go-build/ab/abcdef-d", "object"),
			file("/go/pkg/mod/cache/download/x/@v/v1.zip", "zip"),
			file("/home/u/go/pkg/mod/example.com/m@v1/go.mod", "module m"),
			file("/root/.npm/_cacache/index-v5/aa", "{}"),
			file("/root/.cache/pip/http/a/b", "wheel"),
			file("/var/cache/apt/pkgcache.bin", "bin"),
			file("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", "release"),
			file("/var/lib/apt/lists/lock", ""),
			file("/root/.cargo/registry/cache/x.crate", "crate"),
			file("/root/.m2/repository/org/x/x.jar", "jar"),
			file("/src/node_modules/.cache/babel-loader/x.json", "{}"),
		}, []string{
			"cache Go build cache /root/.cache/go-build",
			"cache Go module cache /go/pkg/mod",
			"cache Go module cache /home/u/go/pkg/mod",
			"cache npm cache /root/.npm",
			"cache pip cache /root/.cache/pip",
			"cache apt package cache /var/cache/apt",
			"cache apt package lists /var/lib/apt/lists",
			"cache Cargo registry /root/.cargo/registry",
			"cache Maven repository /root/.m2/repository",
			"cache node_modules/.cache (babel, webpack, …) /src/node_modules/.cache",
		}},
		{"empty cache files are not a cache", []entry{file("/var/lib/apt/lists/lock", ""), dir("/var/cache/apt/archives/partial")}, nil},
		{"not caches", []entry{file("/usr/share/doc/go-build/README", "x"), file("/app/cache/pip", "x"), file("/srv/var/cache/apt/x", "x")}, nil},
		{"VCS dirs", []entry{
			file("/src/.git/HEAD", "ref: refs/heads/main\n"),
			file("/src/.git/objects/ab/cdef", "blob"),
			file("/src/vendor/x/.hg/store/data", "hg"),
			file("/w/.svn/wc.db", "svn"),
			file("/sub/.git", "gitdir: ../.git/modules/sub\n"),
		}, []string{
			"vcs git /src/.git",
			"vcs Mercurial /src/vendor/x/.hg",
			"vcs Subversion /w/.svn",
			"vcs git /sub/.git",
		}},
		{"not VCS dirs", []entry{file("/app/.gitignore", "*.o\n"), file("/app/.github/workflows/ci.yml", "on: push\n")}, nil},
		{"secrets", []entry{
			file("/app/key.pem", pemKey),
			file("/app/rsa.key", strings.Replace(pemKey, "PRIVATE", "RSA PRIVATE", 2)),
			file("/root/.ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n"),
			file("/root/.ssh/id_rsa", "anything"),
			file("/app/.env", "DB_PASSWORD=hunter2\n"),
			file("/app/.env.production", "A=1\n"),
			file("/root/.netrc", "machine x login y password z\n"),
			file("/root/.docker/config.json", `{"auths":{"r.example":{"auth":"eDp5"}}}`),
			file("/root/.npmrc", "//registry.npmjs.org/:_authToken=abc\n"),
			file("/root/.aws/credentials", "[default]\naws_secret_access_key = x\n"),
		}, []string{
			"secret private key (PKCS #8) /app/key.pem",
			"secret private key (RSA) /app/rsa.key",
			"secret OpenSSH private key /root/.ssh/id_ed25519",
			"secret SSH private key /root/.ssh/id_rsa",
			"secret dotenv file /app/.env",
			"secret dotenv file /app/.env.production",
			"secret credentials file /root/.netrc",
			"secret credentials file /root/.docker/config.json",
			"secret credentials file /root/.npmrc",
			"secret credentials file /root/.aws/credentials",
		}},
		{"not secrets", []entry{
			file("/app/.env.example", "DB_PASSWORD=\n"),
			file("/etc/ssl/certs/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
			file("/app/main.go", "package main\nconst key = `"+pemKey+"`\n"),
			file("/app/node_modules/x/test/fixtures/key.pem", pemKey),
			file("/src/crypto/testdata/key.pem", pemKey),
			file("/app/config.json", `{"auth":"none"}`),
			file("/root/.npmrc", "registry=https://registry.example/\n"),
			file("/app/.ssh/id_rsa.pub", "ssh-rsa AAAA"),
		}, nil},
		{"a toolchain's and a cache's keys are theirs", []entry{
			exe("/usr/local/go/bin/gofmt", tool), file("/usr/local/go/VERSION", "go1.22\n"),
			file("/usr/local/go/src/crypto/x509/platform_root_key.pem", pemKey),
			file("/go/pkg/mod/example.com/m@v1/key.pem", pemKey),
		}, []string{"cache Go module cache /go/pkg/mod", "toolchain Go toolchain /usr/local/go"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := scanOf(t, tt.entries...)
			got := factStrings(s.Facts)
			if !sameSet(got, tt.want) {
				t.Errorf("facts:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	m := make(map[string]int)
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestScanSizesAndWhiteouts(t *testing.T) {
	s := scanOf(t,
		dir("/usr"), dir("/usr/lib"),
		file("/usr/lib/a.so", strings.Repeat("a", 3000)),
		file("/usr/lib/b.so", strings.Repeat("b", 1000)),
		file("/etc/hostname", "h\n"),
		entry{name: "/usr/bin/sh", link: "busybox"},
		whiteout("/var/cache/old"),
		entry{name: "/opt/.wh..wh..opq"},
	)
	if s.Bytes != 4002 || s.Files != 4 {
		t.Errorf("bytes %d files %d, want 4002 and 4", s.Bytes, s.Files)
	}
	if want := []string{"/var/cache/old", "/opt/"}; !reflect.DeepEqual(s.Whiteouts, want) {
		t.Errorf("whiteouts %q, want %q", s.Whiteouts, want)
	}
	if s.TarBytes == 0 || s.TarBytes%512 != 0 {
		t.Errorf("tar bytes %d", s.TarBytes)
	}
	if got := fmt.Sprint(s.Top); got != "[{/usr/lib/a.so 3000 1} {/usr/lib/b.so 1000 1} {/etc/hostname 2 1}]" {
		t.Errorf("top paths %s", got)
	}
}

func TestTopPaths(t *testing.T) {
	many := []entry{file("/root/.cache/go-build/README", "x")}
	for i := 0; i < 40; i++ {
		many = append(many, file(fmt.Sprintf("/root/.cache/go-build/%02x/obj", i), strings.Repeat("o", 100)))
	}
	tests := []struct {
		name    string
		entries []entry
		n       int
		want    string
	}{
		{"one file goes down to the file", []entry{file("/app/bin/server", "12345")}, 5, "/app/bin/server"},
		{"few children split", []entry{file("/usr/lib/x", "1234"), file("/usr/share/y", "12"), file("/usr/bin/z", "1")}, 5,
			"/usr/lib/x /usr/share/y /usr/bin/z"},
		{"a directory of many small children stays whole", many, 5, "/root/.cache/go-build/"},
		{"n limits", []entry{file("/a", "111"), file("/b", "22"), file("/c", "3")}, 2, "/a /b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			tree := newTree()
			for _, e := range tt.entries {
				if !strings.HasSuffix(e.name, "/") {
					tree.add(e.name, int64(len(e.body)), false)
				}
			}
			for _, p := range topPaths(tree, tt.n, nil) {
				got = append(got, p.Path)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("top paths %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPruneFoldsSmallChildren(t *testing.T) {
	tree := newTree()
	tree.add("/big", 1_000_000, false)
	for i := 0; i < 100; i++ {
		tree.add(fmt.Sprintf("/small/f%d", i), 1, false)
	}
	d := prune(tree)
	if d.Bytes != 1_000_100 || len(d.Kids) != 2 || d.Kids[0].Name != "big" || d.Kids[1].Name != "…" || d.Kids[1].Bytes != 100 {
		t.Errorf("pruned %+v", d)
	}
}

func TestScanRejectsBrokenTar(t *testing.T) {
	b := tarOf(t, file("/a", strings.Repeat("x", 2000)))
	if _, err := scanTar(context.Background(), bytes.NewReader(b[:1024])); err == nil {
		t.Error("a truncated tar scanned without error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := scanTar(ctx, bytes.NewReader(b)); err == nil {
		t.Error("a cancelled scan did not stop")
	}
}

func FuzzScanTar(f *testing.F) {
	f.Add(tarOf(f, file("/a/b", "x"), dir("/c"), whiteout("/d")))
	f.Add(tarOf(f, exe("/usr/lib/gcc/x/12/cc1", fakeELF), file("/app/.env", "A=1"), file("/k.pem", pemKey)))
	f.Add(tarOf(f, file("/root/.cache/go-build/x", "y"), file("/s/.git/HEAD", "ref")))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := scanTar(context.Background(), bytes.NewReader(b))
		if err != nil {
			return
		}
		var sum int64
		for _, p := range s.Top {
			sum += p.Bytes
		}
		if sum > s.Bytes || s.Tree == nil || s.Tree.Bytes != s.Bytes {
			t.Errorf("inconsistent scan: top paths %d bytes of %d, tree %+v", sum, s.Bytes, s.Tree)
		}
	})
}
