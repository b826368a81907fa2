package depcheck

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/kiln-build/kiln/"

// allowed lists, for each kiln package, the kiln packages it may import
// (DESIGN.md: cli → solver, export, store, progress → plan, copier, cache,
// snapshot, runtime, source → store, archive, image). "*" allows any: the
// test-only packages. A package missing here fails the test.
var allowed = map[string][]string{
	"internal/rawfile":      {},
	"archive":               {"internal/rawfile"},
	"image":                 {},
	"progress":              {},
	"dockerfile":            {},
	"buildcontext":          {},
	"copier":                {"internal/rawfile"},
	"runtime":               {},
	"runtime/runtimetest":   {"runtime"},
	"store":                 {"archive"},
	"registry":              {"store"},
	"plan":                  {"dockerfile"},
	"snapshot":              {"archive", "store"},
	"snapshot/snapshottest": {"snapshot"},
	"cache":                 {"internal/rawfile", "registry", "snapshot", "store"},
	"source":                {"archive", "copier", "dockerfile", "image", "plan", "progress", "registry", "snapshot", "store"},
	"attest":                {"store"},
	"explain":               {"archive", "attest", "image", "plan", "progress", "store"},
	"solver": {"archive", "buildcontext", "cache", "copier", "dockerfile", "explain", "image", "plan", "progress", "runtime",
		"snapshot", "source", "store"},
	"export": {"archive", "attest", "cache", "explain", "image", "progress", "registry", "snapshot", "solver", "source", "store"},
	// the CLI parses flags, calls the library and renders: at most 5 kiln packages
	"internal/cli":      {"explain", "export", "progress", "solver", "store"},
	"cmd/kiln":          {"internal/cli", "runtime"},
	"examples/library":  {"export", "progress", "runtime", "solver", "store"},
	"integration":       {"*"},
	"conformance":       {"*"},
	"internal/depcheck": {"*"},
}

var forbidden = []string{"google.golang.org/grpc", "github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb",
	"github.com/moby/buildkit/client", "github.com/moby/buildkit/util/progress/progressui"}

func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", mod+"...").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p struct {
			ImportPath    string
			Imports, Deps []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, mod)
		ok, known := allowed[name]
		if !known {
			t.Errorf("package %s is not in depcheck's table: add it with the kiln packages it may import", name)
			continue
		}
		for _, imp := range p.Imports {
			dep, isKiln := strings.CutPrefix(imp, mod)
			if !isKiln || contains(ok, "*") {
				continue
			}
			if !contains(ok, dep) {
				t.Errorf("%s imports %s, against the layering", name, dep)
			}
		}
		for _, d := range p.Deps {
			for _, f := range forbidden {
				if strings.HasPrefix(d, f) {
					t.Errorf("%s depends on %s", name, d)
				}
			}
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
