package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// breakoutCase is one malicious layer of TestBreakouts (also a seed of
// FuzzApply): layer builds its entries given the directory outside the
// destination.
type breakoutCase struct {
	name    string
	pre     func(t *testing.T, root, outside string)
	layer   func(outside string) []entry
	overlay bool
	inRoot  bool // WithSymlinksInRoot
	wantErr bool
	check   func(t *testing.T, root string)
}

func breakoutCases() []breakoutCase {
	type tc = breakoutCase
	file := func(name string) entry { return entry{name: name, typ: tar.TypeReg, body: "pwned", mode: 0o777} }
	sym := func(name, target string) entry { return entry{name: name, typ: tar.TypeSymlink, link: target} }
	hard := func(name, target string) entry {
		return entry{name: name, typ: tar.TypeLink, link: target, mode: 0o777}
	}
	const up = "../../../../../../../../../.."
	return []tc{
		{name: "DotDot", layer: func(string) []entry { return []entry{file("../outside/etc/passwd")} }, wantErr: true},
		{name: "DotDotInside", layer: func(string) []entry { return []entry{file("a/../../outside/etc/passwd")} }, wantErr: true},
		{name: "AbsoluteNameIsRelative", layer: func(string) []entry { return []entry{file("/etc/passwd")} },
			check: func(t *testing.T, root string) { mustContent(t, filepath.Join(root, "etc/passwd"), "pwned") }},
		{name: "AbsoluteDotDotName", layer: func(string) []entry { return []entry{file("/../outside/etc/passwd")} }, wantErr: true},
		{name: "SymlinkAbsoluteThenFile", layer: func(o string) []entry {
			return []entry{sym("localetc", filepath.Join(o, "etc")), file("localetc/passwd")}
		}, wantErr: true},
		{name: "SymlinkToRootThenFile", layer: func(string) []entry {
			return []entry{sym("r", "/"), file("r/tmp/kiln-archive-breakout")}
		}, wantErr: true},
		{name: "SymlinkUpChain", layer: func(string) []entry {
			return []entry{sym("up", "../.."), file("up/outside/etc/passwd")}
		}, wantErr: true},
		{name: "SymlinkNestedRelative", layer: func(string) []entry {
			return []entry{{name: "d/", typ: tar.TypeDir}, sym("d/e", "../../outside/etc"), file("d/e/passwd")}
		}, wantErr: true},
		{name: "SymlinkNamedDotDot", layer: func(o string) []entry {
			return []entry{sym("..", filepath.Join(o, "etc")), file("passwd")}
		}, wantErr: true},
		{name: "SymlinkEmptyName", layer: func(o string) []entry { return []entry{sym("", filepath.Join(o, "etc"))} }, wantErr: true},
		{name: "SymlinkCleansToParent", layer: func(o string) []entry {
			return []entry{sym("l/sub/..", filepath.Join(o, "etc")), file("l/passwd")}
		}, wantErr: true},
		{name: "HardlinkDotDot", layer: func(string) []entry { return []entry{hard("lnk", "../outside/etc/passwd")} }, wantErr: true},
		{name: "HardlinkLongDotDot", layer: func(string) []entry { return []entry{hard("lnk", up+"/etc/passwd")} }, wantErr: true},
		{name: "HardlinkThroughSymlinkDir", layer: func(o string) []entry {
			return []entry{sym("le", filepath.Join(o, "etc")), hard("lnk", "le/passwd")}
		}, wantErr: true},
		{name: "HardlinkThroughRelativeSymlinkDir", layer: func(string) []entry {
			return []entry{{name: "b/", typ: tar.TypeDir}, sym("b/d1", "../../outside/etc"), hard("b/lnk", "b/d1/passwd")}
		}, wantErr: true},
		{name: "HardlinkToSymlinkIsContained", layer: func(o string) []entry {
			return []entry{sym("pl", filepath.Join(o, "etc/passwd")), hard("lnk", "pl")}
		}, check: func(t *testing.T, root string) {
			if fi, err := os.Lstat(filepath.Join(root, "lnk")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("lnk should be a symlink: %v %v", fi, err)
			}
		}},
		{name: "WhiteoutDotDot", layer: func(string) []entry { return []entry{file(".wh...")} }, wantErr: true},
		{name: "WhiteoutDot", layer: func(string) []entry { return []entry{file(".wh..")} }, wantErr: true},
		{name: "WhiteoutNestedDotDot", layer: func(string) []entry { return []entry{file("etc/.wh...")} }, wantErr: true},
		{name: "WhiteoutEscapingName", layer: func(string) []entry { return []entry{file("../outside/etc/.wh.passwd")} }, wantErr: true},
		{name: "WhiteoutThroughSymlink", layer: func(o string) []entry {
			return []entry{sym("le", filepath.Join(o, "etc")), file("le/.wh.passwd")}
		}, wantErr: true},
		{name: "OverlayWhiteoutThroughSymlink", overlay: true, layer: func(o string) []entry {
			return []entry{sym("le", filepath.Join(o, "etc")), file("le/.wh.passwd")}
		}, wantErr: true},
		{name: "OpaqueThroughSymlink", layer: func(o string) []entry {
			return []entry{sym("le", filepath.Join(o, "etc")), file("le/.wh..wh..opq")}
		}, wantErr: true},
		{name: "OverlayOpaqueThroughSymlink", overlay: true, layer: func(o string) []entry {
			return []entry{sym("le", filepath.Join(o, "etc")), file("le/.wh..wh..opq")}
		}, wantErr: true},
		{name: "ExistingSymlinkReplacedByDir", pre: func(t *testing.T, root, o string) {
			must(t, os.Symlink(filepath.Join(o, "etc"), filepath.Join(root, "localetc")))
		}, layer: func(string) []entry { return []entry{{name: "localetc/", typ: tar.TypeDir}, file("localetc/passwd")} },
			check: func(t *testing.T, root string) { mustContent(t, filepath.Join(root, "localetc/passwd"), "pwned") }},
		{name: "ExistingSymlinkReplacedByFile", pre: func(t *testing.T, root, o string) {
			must(t, os.Symlink(filepath.Join(o, "etc/passwd"), filepath.Join(root, "passwd")))
		}, layer: func(string) []entry { return []entry{file("passwd")} },
			check: func(t *testing.T, root string) { mustContent(t, filepath.Join(root, "passwd"), "pwned") }},
		{name: "CachedDirReplacedBySymlink", layer: func(o string) []entry {
			return []entry{{name: "a/", typ: tar.TypeDir}, file("a/x"), sym("a", filepath.Join(o, "etc")), file("a/passwd")}
		}, wantErr: true},
		{name: "CachedNestedDirReplacedBySymlink", layer: func(o string) []entry {
			return []entry{{name: "a/b/", typ: tar.TypeDir}, file("a/b/x"), sym("a/b", filepath.Join(o, "etc")), file("a/b/passwd")}
		}, wantErr: true},
		{name: "CachedDirWhitedOutThenSymlink", layer: func(o string) []entry {
			return []entry{{name: "a/b/", typ: tar.TypeDir}, file("a/b/x"), file("a/.wh.b"), sym("a/b", filepath.Join(o, "etc")), file("a/b/passwd")}
		}, wantErr: true},
		{name: "CachedDirWhitedOutThenMadeAgain", layer: func(string) []entry {
			return []entry{{name: "a/b/", typ: tar.TypeDir}, file("a/b/x"), file("a/.wh.b"), file("a/b/y")}
		}, check: func(t *testing.T, root string) {
			mustContent(t, filepath.Join(root, "a/b/y"), "pwned")
			if _, err := os.Lstat(filepath.Join(root, "a/b/x")); err == nil {
				t.Error("a/b/x survived its directory's whiteout")
			}
		}},
		{name: "ExistingSymlinkParent", pre: func(t *testing.T, root, o string) {
			must(t, os.Symlink(filepath.Join(o, "etc"), filepath.Join(root, "localetc")))
		}, layer: func(string) []entry { return []entry{file("localetc/passwd")} }, wantErr: true},

		// WithSymlinksInRoot: symlinks resolve as in a chroot at the destination
		{name: "InRootAbsoluteSymlinkStaysInside", inRoot: true, pre: func(t *testing.T, root, _ string) {
			must(t, os.Mkdir(filepath.Join(root, "run"), 0o755))
			must(t, os.Mkdir(filepath.Join(root, "var"), 0o755))
			must(t, os.Symlink("/run", filepath.Join(root, "var/run")))
		}, layer: func(string) []entry {
			return []entry{{name: "var/run/act/", typ: tar.TypeDir}, file("var/run/act/f"), hard("var/run/act/h", "var/run/act/f")}
		}, check: func(t *testing.T, root string) {
			mustContent(t, filepath.Join(root, "run/act/f"), "pwned")
			mustContent(t, filepath.Join(root, "run/act/h"), "pwned")
			if fi, err := os.Lstat(filepath.Join(root, "var/run")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("var/run should still be a symlink: %v %v", fi, err)
			}
		}},
		{name: "InRootSymlinkToRoot", inRoot: true, layer: func(string) []entry {
			return []entry{sym("r", "/"), file("r/tmp/kiln-archive-breakout")}
		}, check: func(t *testing.T, root string) {
			mustContent(t, filepath.Join(root, "tmp/kiln-archive-breakout"), "pwned")
		}},
		{name: "InRootSymlinkUpChain", inRoot: true, layer: func(string) []entry {
			return []entry{sym("up", "../.."), file("up/outside/etc/passwd")}
		}, check: func(t *testing.T, root string) { mustContent(t, filepath.Join(root, "outside/etc/passwd"), "pwned") }},
		{name: "InRootNestedRelative", inRoot: true, layer: func(string) []entry {
			return []entry{{name: "d/", typ: tar.TypeDir}, {name: "outside/etc/", typ: tar.TypeDir},
				sym("d/e", "../../../outside/etc"), file("d/e/passwd")}
		}, check: func(t *testing.T, root string) { mustContent(t, filepath.Join(root, "outside/etc/passwd"), "pwned") }},
		{name: "InRootDanglingRelative", inRoot: true, layer: func(string) []entry {
			return []entry{{name: "d/", typ: tar.TypeDir}, sym("d/e", "../../outside/etc"), file("d/e/passwd")}
		}, wantErr: true},
		{name: "InRootHostPathDangles", inRoot: true, layer: func(o string) []entry {
			return []entry{sym("localetc", filepath.Join(o, "etc")), file("localetc/passwd")}
		}, wantErr: true},
		{name: "InRootHardlinkThroughSymlinkDangles", inRoot: true, layer: func(o string) []entry {
			return []entry{sym("le", filepath.Join(o, "etc")), hard("lnk", "le/passwd")}
		}, wantErr: true},
		{name: "InRootDotDotNameRefused", inRoot: true, layer: func(string) []entry { return []entry{file("../outside/etc/passwd")} }, wantErr: true},
	}
}

// TestBreakouts applies malicious layers next to a sentinel directory and
// checks each is refused with ErrBreakout or kept harmlessly inside the
// destination, and that nothing outside it changed. Every layer is also
// applied WithSymlinksInRoot (ADD of an archive), where symlinks on the
// way are followed but must stay inside the destination; the inRoot rows
// check where such entries land.
func TestBreakouts(t *testing.T) {
	requireRoot(t)
	tests := breakoutCases()
	for _, tt := range tests {
		if tt.inRoot {
			continue
		}
		// the same layer with symlinks followed in the root: anything may
		// fail, nothing may leave the destination
		again := tt
		again.name, again.inRoot, again.wantErr, again.check = "InRootAlso"+tt.name, true, false, nil
		tests = append(tests, again)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
			must(t, os.MkdirAll(filepath.Join(outside, "etc"), 0o755))
			must(t, os.WriteFile(filepath.Join(outside, "etc/passwd"), []byte("original"), 0o600))
			must(t, os.Mkdir(root, 0o755))
			if tt.pre != nil {
				tt.pre(t, root, outside)
			}
			before := snapshot(t, outside)
			var opts []ApplyOption
			if tt.overlay {
				opts = append(opts, WithOverlayWhiteouts())
			}
			if tt.inRoot {
				opts = append(opts, WithSymlinksInRoot())
			}
			_, err := Apply(context.Background(), root, bytes.NewReader(buildTar(t, tt.layer(outside)...)), opts...)
			switch {
			case strings.HasPrefix(tt.name, "InRootAlso"):
				if err != nil {
					t.Logf("Apply: %v", err)
				}
			case tt.wantErr && tt.inRoot && err == nil:
				t.Error("Apply: got no error")
			case tt.wantErr && !tt.inRoot && !errors.Is(err, ErrBreakout):
				t.Errorf("Apply: got %v, want ErrBreakout", err)
			case !tt.wantErr && err != nil:
				t.Errorf("Apply: %v", err)
			}
			if after := snapshot(t, outside); !reflect.DeepEqual(before, after) {
				t.Errorf("outside changed:\nbefore %+v\nafter  %+v", before, after)
			}
			if _, err := os.Lstat("/tmp/kiln-archive-breakout"); err == nil {
				os.Remove("/tmp/kiln-archive-breakout")
				t.Error("wrote /tmp/kiln-archive-breakout through a symlink to /")
			}
			if tt.check != nil && err == nil {
				tt.check(t, root)
			}
		})
	}
}

func mustContent(t *testing.T, p, want string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil || string(b) != want {
		t.Errorf("%s: got %q, %v; want %q", p, b, err, want)
	}
}
