package explain

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/store"
)

func prov(stage, instr string, line int, srcs ...string) image.Provenance {
	return image.Provenance{Stage: stage, Instruction: instr, Line: line, Sources: srcs}
}

// multi is a two-stage build's stages: builder FROM golang, the target
// stage-1 FROM base.
func multi(base string) []image.StageRecord {
	return []image.StageRecord{{Name: "builder", Base: "golang:1.22", Bytes: 1 << 20, Steps: 2},
		{Name: "stage-1", Base: base, Steps: 1}}
}

func single(base string) []image.StageRecord {
	return []image.StageRecord{{Name: "stage-0", Base: base, Steps: 1}}
}

func record(target string, stages []image.StageRecord, layers ...image.LayerRecord) *image.Record {
	return &image.Record{Dockerfile: "Dockerfile", Target: target, Stages: stages, Layers: layers}
}

// warningStrings is "Rule Llayer line paths" for comparing.
func warningStrings(ws []Warning) []string {
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%s L%d line%d %s", w.Rule, w.Layer, w.Line, strings.Join(w.Paths, ",")))
	}
	return out
}

func TestRules(t *testing.T) {
	tool, program := binaries(t)
	busybox := tarOf(t, exe("/bin/busybox", fakeELF), file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"))
	busyboxL := image.LayerRecord{BaseImage: "busybox"}
	goroot := tarOf(t, exe("/usr/local/go/bin/gofmt", tool), file("/usr/local/go/VERSION", "go1.22\n"))
	gcc := tarOf(t, exe("/usr/lib/gcc/x86_64-linux-gnu/12/cc1", fakeELF), file("/usr/bin/make", "#!/bin/sh\n"))
	app := tarOf(t, exe("/app", program))
	copyApp := image.LayerRecord{FromStage: "builder", Made: prov("stage-1", "COPY --from=builder /src/app /app", 6, "/src/app")}
	ctxCopy := tarOf(t, file("/app/main.go", "package main\n"), file("/app/.git/HEAD", "ref: refs/heads/main\n"),
		file("/app/.git/config", "[core]\n"), file("/app/.env", "TOKEN=x\n"))
	ctxCopyL := image.LayerRecord{Made: prov("stage-1", "COPY . /app", 7, ".")}

	tests := []struct {
		name string
		img  testImage
		opts []Option
		want []string
	}{
		{"the seed example: a Go program copied onto scratch", testImage{layers: [][]byte{app},
			rec: record("stage-1", multi("scratch"), copyApp)}, nil, nil},
		{"a Go program copied onto busybox", testImage{layers: [][]byte{busybox, app},
			rec: record("stage-1", multi("busybox"), busyboxL, copyApp)}, nil, nil},
		{"the Go toolchain copied from the builder", testImage{layers: [][]byte{goroot},
			rec: record("stage-1", multi("scratch"), image.LayerRecord{FromStage: "builder",
				Made: prov("stage-1", "COPY --from=builder /usr/local/go /usr/local/go", 6, "/usr/local/go")})},
			nil, []string{"ToolchainCopied L0 line6 /usr/local/go"}},
		{"GCC copied from the builder", testImage{layers: [][]byte{busybox, gcc},
			rec: record("stage-1", multi("busybox"), busyboxL, image.LayerRecord{FromStage: "builder",
				Made: prov("stage-1", "COPY --from=builder /usr /usr", 8, "/usr")})},
			nil, []string{"ToolchainCopied L1 line8 /usr/lib/gcc/x86_64-linux-gnu/12"}},
		{"a toolchain the final stage installs itself is not copied", testImage{layers: [][]byte{busybox, gcc},
			rec: record("stage-1", multi("busybox"), busyboxL, image.LayerRecord{Made: prov("stage-1", "RUN apk add gcc", 3)})},
			nil, nil},
		{"final stage FROM golang while a builder builds", testImage{layers: [][]byte{goroot, app},
			rec: record("stage-1", multi("golang:1.22"), image.LayerRecord{BaseImage: "golang:1.22"}, copyApp)},
			nil, []string{"ToolchainBaseImage L0 line0 /usr/local/go"}},
		{"FROM golang in a single-stage build", testImage{layers: [][]byte{goroot},
			rec: record("stage-0", single("golang:1.22"), image.LayerRecord{BaseImage: "golang:1.22"})}, nil, nil},
		{"final stage FROM node (full)", testImage{layers: [][]byte{busybox, app},
			rec: record("stage-1", multi("node:20"), image.LayerRecord{BaseImage: "node:20"}, copyApp)},
			nil, []string{"ToolchainBaseImage L0 line0 "}},
		{"final stage FROM node:20-slim", testImage{layers: [][]byte{busybox, app},
			rec: record("stage-1", multi("node:20-slim"), image.LayerRecord{BaseImage: "node:20-slim"}, copyApp)}, nil, nil},
		{"final stage FROM an image that carries GCC", testImage{layers: [][]byte{gcc, app},
			rec: record("stage-1", multi("registry.example/ci/build:3"), image.LayerRecord{BaseImage: "registry.example/ci/build:3"}, copyApp)},
			nil, []string{"ToolchainBaseImage L0 line0 /usr/lib/gcc/x86_64-linux-gnu/12"}},
		{"final stage FROM a stage that installed GCC", testImage{layers: [][]byte{busybox, gcc, app},
			rec: record("stage-1", []image.StageRecord{{Name: "deps", Base: "busybox"}, {Name: "builder", Base: "golang:1.22"},
				{Name: "stage-1", Base: "deps"}}, busyboxL, image.LayerRecord{Made: prov("deps", "RUN apk add gcc", 2)}, copyApp)},
			nil, []string{"ToolchainBaseImage L1 line0 /usr/lib/gcc/x86_64-linux-gnu/12"}},
		{"apt lists left by a RUN", testImage{layers: [][]byte{busybox, tarOf(t, file("/var/lib/apt/lists/x_Packages", "Package: x\n"), file("/usr/bin/curl", "curl"))},
			rec: record("stage-1", multi("busybox"), busyboxL, image.LayerRecord{Made: prov("stage-1", "RUN apt-get update && apt-get install -y curl", 7)})},
			nil, []string{"BuildCacheShipped L1 line7 /var/lib/apt/lists"}},
		{"a cache in the base image is not the build's", testImage{layers: [][]byte{tarOf(t, file("/var/lib/apt/lists/x_Packages", "P")), app},
			rec: record("stage-1", multi("debian"), image.LayerRecord{BaseImage: "debian"}, copyApp)}, nil, nil},
		{"the build cache copied with the builder's home", testImage{layers: [][]byte{tarOf(t, file("/root/.cache/go-build/ab/x-d", "obj"))},
			rec: record("stage-1", multi("scratch"), image.LayerRecord{FromStage: "builder", Made: prov("stage-1", "COPY --from=builder /root /root", 6, "/root")})},
			nil, []string{"BuildCacheShipped L0 line6 /root/.cache/go-build"}},
		{"the whole context copied into the final stage", testImage{layers: [][]byte{busybox, ctxCopy},
			rec: record("stage-1", multi("busybox"), busyboxL, ctxCopyL)},
			nil, []string{"VCSDirShipped L1 line7 /app/.git", "SecretShipped L1 line7 /app/.env",
				"ContextCopiedWhole L1 line7 /app/.git/,/app/main.go,/app/.env"}},
		{"COPY . . in a single-stage build", testImage{layers: [][]byte{busybox, tarOf(t, file("/app/main.go", "package main\n"))},
			rec: record("stage-0", single("busybox"), busyboxL, image.LayerRecord{Made: prov("stage-0", "COPY . .", 3, ".")})}, nil, nil},
		{"a whole stage copied", testImage{layers: [][]byte{tarOf(t, exe("/bin/busybox", fakeELF), exe("/src/app", program))},
			rec: record("stage-1", multi("scratch"), image.LayerRecord{FromStage: "builder", Made: prov("stage-1", "COPY --from=builder / /", 6, "/")})},
			nil, []string{"WholeStageCopied L0 line6 /src/app,/bin/busybox"}},
		{"a whole image copied is not a stage", testImage{layers: [][]byte{busybox},
			rec: record("stage-1", multi("scratch"), image.LayerRecord{FromStage: "busybox:latest", Made: prov("stage-1", "COPY --from=busybox:latest / /", 6, "/")})},
			nil, nil},
		{"rules skipped", testImage{layers: [][]byte{busybox, ctxCopy}, rec: record("stage-1", multi("busybox"), busyboxL, ctxCopyL)},
			[]Option{WithSkipRules(RuleVCSDirShipped, RuleContextCopiedWhole)}, []string{"SecretShipped L1 line7 /app/.env"}},
		{"no record: the content rules on every layer", testImage{layers: [][]byte{busybox, ctxCopy, goroot}},
			nil, []string{"VCSDirShipped L1 line0 /app/.git", "SecretShipped L1 line0 /app/.env"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			d := tt.img.put(t, st)
			rep, err := AnalyzeDigest(context.Background(), st, d, append(tt.opts, WithoutLayerCache())...)
			if err != nil {
				t.Fatal(err)
			}
			if got := warningStrings(rep.Warnings); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Analyze warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
				for _, w := range rep.Warnings {
					t.Logf("%s: %s (fix: %s)", w.Rule, w.Message, w.Fix)
				}
			}
			ws, err := Check(context.Background(), st, d, append(tt.opts, WithoutLayerCache())...)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ruleLayers(ws), ruleLayers(rep.Warnings); got != want {
				t.Errorf("Check found %s, Analyze %s", got, want)
			}
			for _, w := range rep.Warnings {
				if w.Message == "" || w.Fix == "" || w.Bytes <= 0 && w.Rule != RuleToolchainBaseImage {
					t.Errorf("incomplete warning %+v", w)
				}
			}
		})
	}
}

func ruleLayers(ws []Warning) string {
	var out []string
	for _, w := range ws {
		out = append(out, fmt.Sprintf("%s@%d", w.Rule, w.Layer))
	}
	return strings.Join(out, " ")
}

func TestDeletedLaterStillShips(t *testing.T) {
	st := newStore(t)
	d := testImage{layers: [][]byte{
		tarOf(t, file("/var/lib/apt/lists/x_Packages", "Package: x\n")),
		tarOf(t, dir("/var/lib/apt"), whiteout("/var/lib/apt/lists")),
	}, rec: record("stage-0", single("scratch"),
		image.LayerRecord{Made: prov("stage-0", "RUN apt-get update", 2)},
		image.LayerRecord{Made: prov("stage-0", "RUN rm -rf /var/lib/apt/lists", 3)})}.put(t, st)
	ws, err := Check(context.Background(), st, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || !strings.Contains(ws[0].Message, "(layer 1 deletes it, but its bytes still ship in layer 0)") ||
		!strings.Contains(ws[0].Fix, "in the step that made them") {
		t.Errorf("warnings %+v", ws)
	}
}

func TestSkipUnknownRule(t *testing.T) {
	st := newStore(t)
	d := testImage{layers: [][]byte{tarOf(t, file("/a", "a"))}}.put(t, st)
	if _, err := Check(context.Background(), st, d, WithSkipRules("NoSuchRule")); !errors.Is(err, ErrUnknownRule) {
		t.Errorf("err %v, want ErrUnknownRule", err)
	}
}

func TestRulesListed(t *testing.T) {
	seen := make(map[string]bool)
	for _, r := range Rules() {
		if r.ID == "" || r.Description == "" || r.check == nil || seen[r.ID] {
			t.Errorf("rule %+v", r)
		}
		seen[r.ID] = true
	}
	if len(seen) != 7 {
		t.Errorf("%d rules", len(seen))
	}
}

// TestCheckReadsOnlyWhatItNeeds: Check reads the layers the Dockerfile
// made, the base image's only when a base unknown by name must be checked
// for a toolchain, and each layer once.
func TestCheckReadsOnlyWhatItNeeds(t *testing.T) {
	_, program := binaries(t)
	base := tarOf(t, exe("/bin/busybox", fakeELF))
	app := tarOf(t, exe("/app", program))
	copyApp := image.LayerRecord{FromStage: "builder", Made: prov("stage-1", "COPY --from=builder /src/app /app", 6, "/src/app")}
	tests := []struct {
		name     string
		base     string
		layers   [][]byte
		first    int // layers the first Check reads
		uncached int // layers a Check without the layer cache reads
	}{
		{"FROM scratch", "scratch", [][]byte{app}, 1, 1},
		{"FROM a toolchain image, known by name", "golang:1.22", [][]byte{base, app}, 1, 1},
		{"FROM a runtime image, known by name", "debian:12-slim", [][]byte{base, app}, 1, 1},
		{"FROM an image known by content only", "registry.example/base:1", [][]byte{base, app}, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			layers := []image.LayerRecord{copyApp}
			if len(tt.layers) == 2 {
				layers = []image.LayerRecord{{BaseImage: tt.base}, copyApp}
			}
			d := testImage{layers: tt.layers, rec: record("stage-1", multi(tt.base), layers...)}.put(t, st)
			reads := 0
			count := withScan(func(ctx context.Context, st *store.Store, desc v1.Descriptor) (*layerScan, error) {
				reads++
				return scanBlob(ctx, st, desc)
			})
			check := func(opts ...Option) int {
				reads = 0
				if _, err := Check(context.Background(), st, d, append(opts, count)...); err != nil {
					t.Fatal(err)
				}
				return reads
			}
			if n := check(); n != tt.first {
				t.Errorf("the first Check read %d layers, want %d", n, tt.first)
			}
			if n := check(); n != 0 {
				t.Errorf("a second Check read %d layers, want none", n)
			}
			if n := check(WithoutLayerCache()); n != tt.uncached {
				t.Errorf("Check without the layer cache read %d layers, want %d", n, tt.uncached)
			}
		})
	}
}
