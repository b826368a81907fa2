package depcheck

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/kiln-build/kiln/"

// allowed lists, for each kiln package, the kiln packages it may import.
var allowed = map[string][]string{
	"archive":      {},
	"store":        {},
	"image":        {},
	"progress":     {},
	"dockerfile":   {},
	"buildcontext": {},
	"copier":       {},
	"runtime":      {},
	"snapshot":     {},
	"cache":        {},
	"plan":         {"dockerfile"},
	"source":       {"archive", "image", "plan", "progress", "store"},
	"export":       {"archive", "image", "snapshot", "store"},
	"solver": {"archive", "buildcontext", "cache", "copier", "dockerfile", "export", "image", "plan", "progress", "runtime",
		"snapshot", "source", "store"},
	"internal/cli": {"archive", "solver", "cache", "dockerfile", "export", "image", "plan", "progress", "runtime", "source", "store"},
	"cmd/kiln":     {"internal/cli", "runtime"},
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
		ok, checked := allowed[name]
		for _, imp := range p.Imports {
			dep, isKiln := strings.CutPrefix(imp, mod)
			if !isKiln || !checked {
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
