package plan

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/dockerfile"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden plans each testdata/<case>/Dockerfile (with options from
// testdata/<case>/options: target=, build-arg=K=V) and compares a dump of
// the plan with testdata/<case>/plan.golden.
func TestGolden(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/*/Dockerfile")
	for _, df := range dirs {
		dir := filepath.Dir(df)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f, err := os.Open(df)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			parsed, err := dockerfile.Parse("Dockerfile", f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := New(parsed, readOptions(t, filepath.Join(dir, "options")))
			if err != nil {
				t.Fatal(err)
			}
			got := dump(p)
			golden := filepath.Join(dir, "plan.golden")
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./plan -update)", err)
			}
			if got != string(want) {
				t.Errorf("plan differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func readOptions(t *testing.T, path string) Options {
	t.Helper()
	o := Options{BuildArgs: map[string]string{}}
	b, err := os.ReadFile(path)
	if err != nil {
		return o
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "target":
			o.Target = v
		case "build-arg":
			ak, av, _ := strings.Cut(v, "=")
			o.BuildArgs[ak] = av
		}
	}
	return o
}

func dump(p *Plan) string {
	var b bytes.Buffer
	for _, s := range p.Stages {
		fmt.Fprintf(&b, "stage %d %q base=%q", s.Index, s.Name, s.Base)
		if s.BaseStage != nil {
			fmt.Fprintf(&b, " base-stage=%s", s.BaseStage.Ref())
		}
		fmt.Fprintf(&b, " deps=[%s] images=%v\n", refs(s.Deps), s.Images)
	}
	fmt.Fprintf(&b, "target %s\norder %s\nskipped %s\n", p.Target.Ref(), refs(p.Order), refs(p.Skipped))
	var globals []string
	for k, v := range p.Global {
		if k == "REG" || k == "TAG" || k == "MISSING" {
			globals = append(globals, k+"="+v)
		}
	}
	sort.Strings(globals)
	fmt.Fprintf(&b, "globals %v\n", globals)
	return b.String()
}
