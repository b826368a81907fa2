package explain

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/plan"
)

func TestCheckPlan(t *testing.T) {
	for _, tc := range []struct {
		name, df, target string
		want             string // rule:line ...
	}{
		{"clean", "FROM golang:1.22 AS b\nCOPY . .\nRUN go build -o /app\nFROM scratch\nCOPY --from=b /app /app\n", "", ""},
		{"whole stage", "FROM golang AS b\nRUN true\nFROM busybox\nCOPY --from=b / /\n", "", "WholeStageCopied:4"},
		{"whole stage by index", "FROM golang\nRUN true\nFROM busybox\nCOPY --from=0 /. /\n", "", "WholeStageCopied:4"},
		{"from an image is not a stage", "FROM golang AS b\nRUN true\nFROM busybox\nCOPY --from=b /x /x\nCOPY --from=alpine / /\n", "", ""},
		{"context in the final stage", "FROM golang AS b\nRUN true\nFROM busybox\nCOPY --from=b /x /x\nCOPY . /app\n", "", "ContextCopiedWhole:5"},
		{"context in a single stage", "FROM busybox\nCOPY . /app\n", "", ""},
		{"context in the builder", "FROM golang AS b\nCOPY . .\nFROM busybox\nCOPY --from=b /x /x\n", "", ""},
		{"toolchain base", "FROM golang:1.22 AS b\nRUN true\nFROM golang:1.22\nCOPY --from=b /x /x\n", "", "ToolchainBaseImage:3"},
		{"slim is no toolchain", "FROM node:20 AS b\nRUN true\nFROM node:20-slim\nCOPY --from=b /x /x\n", "", ""},
		{"toolchain base through a stage", "FROM node:20 AS base\nFROM base AS b\nRUN true\nFROM base\nCOPY --from=b /x /x\n", "", "ToolchainBaseImage:1"},
		{"target is the builder", "FROM golang AS b\nCOPY . .\nFROM busybox\nCOPY --from=b / /\n", "b", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := dockerfile.Parse("Dockerfile", strings.NewReader(tc.df))
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.New(f, plan.Options{Target: tc.target})
			if err != nil {
				t.Fatal(err)
			}
			ws, err := CheckPlan(p)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range ws {
				got = append(got, fmt.Sprintf("%s:%d", w.Rule, w.Line))
				if w.Fix == "" || w.Message == "" || w.File != "Dockerfile" {
					t.Errorf("incomplete warning %+v", w)
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %q, want %q", g, tc.want)
			}
		})
	}
	f, _ := dockerfile.Parse("Dockerfile", strings.NewReader("FROM golang AS b\nFROM busybox\nCOPY --from=b / /\n"))
	p, _ := plan.New(f, plan.Options{})
	if ws, _ := CheckPlan(p, WithSkipRules(RuleWholeStageCopied)); len(ws) != 0 {
		t.Errorf("skipped rule reported: %v", ws)
	}
}
