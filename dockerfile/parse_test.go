package dockerfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestParse(t *testing.T) {
	src := "# escape=`\nARG BASE=busybox\nFROM $BASE AS Build\nRUN echo a `\n  && echo b\nCOPY [\"a b\", \"/c/\"]\nFROM scratch\nCOPY --from=build /x /x\n"
	f, err := Parse("Dockerfile", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if f.EscapeToken != '`' || len(f.MetaArgs) != 1 || len(f.Stages) != 2 {
		t.Fatalf("escape %q metaargs %d stages %d", f.EscapeToken, len(f.MetaArgs), len(f.Stages))
	}
	if f.Stages[0].Name != "build" {
		t.Errorf("stage name %q, want lower-cased build", f.Stages[0].Name)
	}
	run := f.Stages[0].Commands[0].(*instructions.RunCommand)
	if got := strings.Join(run.CmdLine, " "); got != "echo a   && echo b" {
		t.Errorf("continuation: %q", got)
	}
	cp := f.Stages[0].Commands[1].(*instructions.CopyCommand)
	if cp.SourcePaths[0] != "a b" || cp.DestPath != "/c/" {
		t.Errorf("JSON COPY: %+v", cp.SourcesAndDest)
	}
	if len(f.Warnings) == 0 {
		t.Error("want a lint warning for the upper-case stage name")
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
		want      string
	}{
		{"unknown instruction", "FROM scratch\n\nCOPPY a b\n", 3, "unknown instruction: COPPY"},
		{"no FROM", "# nothing\n", 1, "file with no instructions"},
		{"only ARG", "ARG A=1\n", 0, "no FROM"},
		{"before FROM", "ENV A=b\nFROM scratch\n", 1, "before the first FROM"},
		{"bad JSON form flag", "FROM scratch\nCOPY --nope a b\n", 2, "unknown flag"},
		{"empty continuation at EOF", "FROM scratch\nRUN echo \\", 0, ""},
		{"healthcheck bad duration", "FROM scratch\nHEALTHCHECK --interval=abc CMD x\n", 2, "invalid duration"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("Dockerfile", strings.NewReader(c.src))
			if c.want == "" {
				return // must just not panic
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if de.Line != c.line || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %q (line %d), want line %d containing %q", err, de.Line, c.line, c.want)
			}
			if c.line > 0 && !strings.HasPrefix(err.Error(), "Dockerfile:") {
				t.Errorf("error does not start with the file:line: %q", err)
			}
		})
	}
}

// FuzzParse: the front end never panics on any input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"FROM scratch\n", "ARG A=1\nFROM ${A:-x} AS b\nRUN <<EOF\necho\nEOF\n",
		"# escape=`\nFROM a\nCOPY --chown=1:1 [\"a\",\"b\"]\n", "FROM a\nONBUILD RUN x\nHEALTHCHECK NONE\n",
		"FROM a\nRUN --mount=type=cache,target=/x --network=none true\n",
	} {
		f.Add(s)
	}
	addConformanceSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Parse("Dockerfile", strings.NewReader(s))
	})
}

// addConformanceSeeds adds every Dockerfile of the conformance suite (ported
// from BuildKit's tests: the grammar's corners) as a fuzz seed.
func addConformanceSeeds(f *testing.F) {
	paths, _ := filepath.Glob("../conformance/cases/*/Dockerfile*")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
}

// Fresh parses the commands again: equal to the first parse, not the same
// values, and lint rules that need a linter (SecretsUsedInArgOrEnv) do not
// run twice or panic.
func TestFresh(t *testing.T) {
	src := "FROM scratch\nARG PASSWORD=x\nENV SECRET_KEY=y\nCOPY --chown=$U a /b\nRUN --mount=type=cache,target=/c echo\n"
	f, err := Parse("Dockerfile", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	warnings := len(f.Warnings)
	cmds := f.Stages[0].Commands
	fresh, err := f.Fresh(cmds)
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != len(cmds) || len(f.Warnings) != warnings {
		t.Fatalf("%d commands from %d, warnings %d → %d", len(fresh), len(cmds), warnings, len(f.Warnings))
	}
	for i := range cmds {
		if fresh[i] == cmds[i] {
			t.Errorf("command %d: the same value", i)
		}
		if fresh[i].Name() != cmds[i].Name() || fmt.Sprint(fresh[i].Location()) != fmt.Sprint(cmds[i].Location()) {
			t.Errorf("command %d: %s at %v, was %s at %v", i, fresh[i].Name(), fresh[i].Location(), cmds[i].Name(), cmds[i].Location())
		}
	}
	if c := fresh[2].(*instructions.CopyCommand); c.Chown != "$U" {
		t.Errorf("COPY --chown %q", c.Chown)
	}
}
