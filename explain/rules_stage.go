package explain

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/kiln-build/kiln/progress"
)

// The stage rules read the build record: they need to know which stage
// made a layer and from where. An image without a record has none.

func checkWholeStage(_ context.Context, a *analysis) ([]Warning, error) {
	if a.rec == nil {
		return nil, nil
	}
	var ws []Warning
	for i, rl := range a.rec.Layers {
		L := a.rep.Layers[i]
		if rl.FromStage == "" || a.stage(rl.FromStage) == nil || !anyWhole(rl.Made.Sources) {
			continue
		}
		paths, largest := topList(L)
		ws = append(ws, Warning{Rule: RuleWholeStageCopied, Layer: i, Line: L.Line, Stage: rl.FromStage, Paths: paths, Bytes: L.Bytes,
			Message: fmt.Sprintf("%q copies stage %s's whole filesystem (%s)%s",
				L.Instruction, rl.FromStage, progress.Size(L.Bytes), largest),
			Fix: fmt.Sprintf("COPY --from=%s only the paths the image needs (the binary, its assets), not /", rl.FromStage)})
	}
	return ws, nil
}

// anyWhole reports whether a COPY source names a whole tree: the root of
// a stage or of the build context.
func anyWhole(srcs []string) bool {
	for _, s := range srcs {
		switch s {
		case "*", "/*", "./*":
			return true
		}
		if strings.Contains(s, "://") || strings.HasPrefix(s, "git@") {
			continue // ADD of a URL
		}
		if c := path.Clean("/" + s); c == "/" {
			return true
		}
	}
	return false
}

// topList gives a layer's top paths, and a message tail naming the
// largest ones.
func topList(L Layer) ([]string, string) {
	var paths, parts []string
	for _, p := range L.TopPaths {
		paths = append(paths, p.Path)
		if len(parts) < 3 {
			parts = append(parts, p.Path+" ("+progress.Size(p.Bytes)+")")
		}
	}
	if len(parts) == 0 {
		return paths, ""
	}
	return paths, "; largest: " + strings.Join(parts, ", ")
}

func checkContextCopy(_ context.Context, a *analysis) ([]Warning, error) {
	if !a.multiStage() {
		return nil, nil
	}
	var ws []Warning
	for i, rl := range a.rec.Layers {
		L := a.rep.Layers[i]
		if rl.FromStage != "" || rl.BaseImage != "" || !isCopy(L) || !anyWhole(rl.Made.Sources) {
			continue
		}
		paths, largest := topList(L)
		ws = append(ws, Warning{Rule: RuleContextCopiedWhole, Layer: i, Line: L.Line, Stage: L.Stage, Paths: paths, Bytes: L.Bytes,
			Message: fmt.Sprintf("%q copies the whole build context (%s) into the final image of a multi-stage build%s",
				L.Instruction, progress.Size(L.Bytes), largest),
			Fix: "copy only what the final image needs: the build output with COPY --from=<builder stage>, or named files " +
				"(COPY app.py requirements.txt ./); keep the rest out with .dockerignore"})
	}
	return ws, nil
}

// toolchainImage is an image for building software, by repository name.
type toolchainImage struct {
	name    string // last component of the repository ("golang"), or a path suffix ("dotnet/sdk")
	variant string // tags containing it are runtime variants, not flagged ("slim", "jre")
	instead string
}

var toolchainImages = []toolchainImage{
	{"golang", "", "scratch or gcr.io/distroless/static-debian12 for a static Go binary (CGO_ENABLED=0), else debian:bookworm-slim"},
	{"rust", "", "gcr.io/distroless/cc-debian12 or debian:bookworm-slim"},
	{"gcc", "", "debian:bookworm-slim, or scratch for a static binary"},
	{"buildpack-deps", "", "debian:bookworm-slim"},
	{"maven", "", "eclipse-temurin:<version>-jre"},
	{"gradle", "", "eclipse-temurin:<version>-jre"},
	{"openjdk", "jre", "eclipse-temurin:<version>-jre"},
	{"eclipse-temurin", "jre", "eclipse-temurin:<version>-jre"},
	{"dotnet/sdk", "", "mcr.microsoft.com/dotnet/runtime or mcr.microsoft.com/dotnet/aspnet"},
	{"node", "slim alpine", "node:<version>-slim or gcr.io/distroless/nodejs22-debian12 (the full node image carries GCC and make)"},
	{"python", "slim alpine", "python:<version>-slim (the full python image carries GCC and make)"},
	{"ruby", "slim alpine", "ruby:<version>-slim (the full ruby image carries GCC and make)"},
}

// runtimeImages are bases known to carry no compiler: Check need not
// read their layers to know (the last component of the repository, or
// any repository with "distroless" in its path, or a "slim" tag).
var runtimeImages = map[string]bool{"alpine": true, "busybox": true, "debian": true, "ubuntu": true, "scratch": true}

func runtimeImage(ref string) bool {
	repo, tag := splitRef(ref)
	if i := strings.LastIndex(repo, "/"); i >= 0 && !strings.Contains(repo, "distroless") {
		repo = repo[i+1:]
	}
	return runtimeImages[repo] || strings.Contains(repo, "distroless") || strings.Contains(tag, "slim")
}

// splitRef splits an image reference into its repository (lower case)
// and tag, dropping a digest.
func splitRef(ref string) (repo, tag string) {
	ref, _, _ = strings.Cut(ref, "@")
	repo = ref
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		repo, tag = ref[:i], ref[i+1:]
	}
	return strings.ToLower(repo), tag
}

// matchToolchainImage finds ref ("golang:1.22", "docker.io/library/node",
// "mcr.microsoft.com/dotnet/sdk:8.0@sha256:…") in toolchainImages.
func matchToolchainImage(ref string) (toolchainImage, bool) {
	repo, tag := splitRef(ref)
	for _, t := range toolchainImages {
		if repo != t.name && !strings.HasSuffix(repo, "/"+t.name) {
			continue
		}
		for _, v := range strings.Fields(t.variant) {
			if strings.Contains(tag, v) {
				return toolchainImage{}, false
			}
		}
		return t, true
	}
	return toolchainImage{}, false
}

func checkToolchainBase(ctx context.Context, a *analysis) ([]Warning, error) {
	if !a.multiStage() {
		return nil, nil
	}
	chain := a.chain()
	if len(chain) == 0 {
		return nil, nil
	}
	root, target := chain[len(chain)-1], chain[0]
	base := a.inherited()
	if len(base) == 0 { // FROM scratch
		return nil, nil
	}
	w := Warning{Rule: RuleToolchainBaseImage, Layer: base[len(base)-1], Line: target.Line, Stage: target.Name}
	t, named := matchToolchainImage(root.Base)
	if err := a.readInherited(ctx, base, root.Base, named); err != nil {
		return nil, err
	}
	var found []*fact
	var whats []string
	for _, i := range base {
		ws, byWhat := a.layerFacts(i, factToolchain)
		for _, what := range ws {
			found = append(found, byWhat[what]...)
			whats = append(whats, what)
			w.Layer = i
		}
	}
	var listed string
	w.Paths, w.Bytes, listed = summarize(found)
	text := a.baseSize(base)
	if len(found) > 0 {
		text += fmt.Sprintf("; %s: %s%s", strings.Join(dedupe(whats), ", "), listed, details(found))
	} else {
		for _, i := range base {
			w.Bytes += a.rep.Layers[i].Bytes // no paths: the whole base
		}
	}
	from := target.Base
	if target != root {
		from += " (on " + root.Base + ")"
	}
	if named {
		w.Message = fmt.Sprintf("the final stage %s is FROM %s, a toolchain image (%s), while stage %s does the building",
			a.rec.Target, from, text, a.builder())
		w.Fix = fmt.Sprintf("base the final stage on a runtime image — %s — and COPY --from=%s only the build's output",
			t.instead, a.builder())
		return []Warning{w}, nil
	}
	if len(found) == 0 {
		return nil, nil
	}
	w.Message = fmt.Sprintf("the final stage %s is FROM %s, which carries a toolchain (%s), while stage %s does the building",
		a.rec.Target, from, text, a.builder())
	w.Fix = fmt.Sprintf("base the final stage on a runtime image without compilers (scratch, distroless, a -slim variant) "+
		"and COPY --from=%s only the build's output", a.builder())
	return []Warning{w}, nil
}

// readInherited reads what the toolchain check needs of the inherited
// layers base: when the image the chain starts from is a toolchain image
// by name, nothing (earlier reads still give paths and sizes); else the
// stages' layers, and the image's unless it is a runtime image by name.
func (a *analysis) readInherited(ctx context.Context, base []int, image string, named bool) error {
	a.readCached(base)
	if named {
		return nil
	}
	var unknown []int
	for _, i := range base {
		if a.rep.Layers[i].BaseImage == "" || !runtimeImage(image) {
			unknown = append(unknown, i)
		}
	}
	return a.read(ctx, unknown)
}

// baseSize says how big the base layers are: their content when read,
// else compressed.
func (a *analysis) baseSize(base []int) string {
	var content, compressed int64
	read := true
	for _, i := range base {
		L := a.rep.Layers[i]
		content, compressed = content+L.Bytes, compressed+L.Size
		read = read && L.Read
	}
	if read {
		return progress.Size(content)
	}
	return progress.Size(compressed) + " compressed"
}

// builder names a stage outside the target's FROM chain (the last one
// the image copies from, else the first).
func (a *analysis) builder() string {
	in := make(map[string]bool)
	for _, s := range a.chain() {
		in[strings.ToLower(s.Name)] = true
	}
	name := ""
	for _, s := range a.rec.Stages {
		if !in[strings.ToLower(s.Name)] && name == "" {
			name = s.Name
		}
	}
	for _, L := range a.rep.Layers {
		if L.FromStage != "" && a.stage(L.FromStage) != nil && !in[strings.ToLower(L.FromStage)] {
			name = a.stage(L.FromStage).Name
		}
	}
	return name
}

func dedupe(ss []string) []string {
	seen := make(map[string]bool)
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
