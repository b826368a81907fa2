package explain

import (
	"context"
	"fmt"
	"strings"
)

// The content rules look at what a scan found in the layers the
// Dockerfile made (all layers of an image without a build record): the
// base image's own layers are its maintainers' business.

func checkToolchainCopied(_ context.Context, a *analysis) ([]Warning, error) {
	var ws []Warning
	for i, L := range a.rep.Layers {
		src, ok := a.copiedFrom(i)
		if !ok {
			continue
		}
		whats, byWhat := a.layerFacts(i, factToolchain)
		for _, what := range whats {
			paths, bytes, text := summarize(byWhat[what])
			ws = append(ws, Warning{Rule: RuleToolchainCopied, Layer: i, Line: L.Line, Stage: src, Paths: paths, Bytes: bytes,
				Message: fmt.Sprintf("%s in the final image: %s%s, %s", what, text, details(byWhat[what]), a.how(i)),
				Fix: fmt.Sprintf("copy only the build's output out of %s (COPY --from=%s /path/to/app /app), not the toolchain that made it",
					src, src)})
		}
	}
	return ws, nil
}

// source names the stage layer i's files came from: the one a COPY
// --from copied them from, else the one that made the layer ("" without
// a record).
func (a *analysis) source(i int) string {
	if from, ok := a.copiedFrom(i); ok {
		return from
	}
	return a.rep.Layers[i].Stage
}

func (a *analysis) stageOrImage(name string) string {
	if a.stage(name) != nil {
		return "stage " + name
	}
	return "image " + name
}

// details lists what gave a toolchain away: " (cmd/go, cmd/compile, …)".
func details(fs []*fact) string {
	var ds []string
	seen := make(map[string]bool)
	for _, f := range fs {
		for _, e := range f.Evidence {
			if i := strings.LastIndex(e, " ("); i >= 0 {
				d := strings.TrimSuffix(e[i+2:], ")")
				if !seen[d] && len(ds) < 4 {
					seen[d] = true
					ds = append(ds, d)
				}
			}
		}
	}
	if len(ds) == 0 {
		return ""
	}
	return " [" + strings.Join(ds, ", ") + "]"
}

func checkBuildCache(_ context.Context, a *analysis) ([]Warning, error) {
	var ws []Warning
	for i, L := range a.rep.Layers {
		if !a.own(i) {
			continue
		}
		src, copied := a.copiedFrom(i)
		whats, byWhat := a.layerFacts(i, factCache)
		for _, what := range whats {
			paths, bytes, text := summarize(byWhat[what])
			fix := cacheFix(what, paths[0])
			if copied {
				fix = fmt.Sprintf("copy only what the image needs out of %s, not its caches", a.stageOrImage(src))
			}
			ws = append(ws, Warning{Rule: RuleBuildCacheShipped, Layer: i, Line: L.Line, Stage: a.source(i), Paths: paths, Bytes: bytes,
				Message: fmt.Sprintf("%s in the image: %s, %s", what, text, a.how(i)), Fix: fix})
		}
	}
	return ws, nil
}

// cacheFixes say how to keep each cache out, by its description.
var cacheFixes = map[string]string{
	"Go build cache":        "RUN --mount=type=cache,target=/root/.cache/go-build go build …, or build in a builder stage and copy only the binary",
	"Go module cache":       "RUN --mount=type=cache,target=/go/pkg/mod go mod download, or build in a builder stage and copy only the binary",
	"npm cache":             "RUN --mount=type=cache,target=/root/.npm npm ci, or npm ci && npm cache clean --force in one RUN",
	"pip cache":             "pip install --no-cache-dir, or RUN --mount=type=cache,target=/root/.cache/pip pip install …",
	"apt package lists":     "end the RUN that runs apt-get update with && rm -rf /var/lib/apt/lists/*, or RUN --mount=type=cache,target=/var/lib/apt/lists,sharing=locked",
	"apt package cache":     "apt-get clean in the same RUN as apt-get install, or RUN --mount=type=cache,target=/var/cache/apt,sharing=locked",
	"apk cache":             "apk add --no-cache …",
	"Go telemetry counters": "go telemetry off (or GOTELEMETRY=off) in the builder, or copy only the binary out of the builder stage",
}

func cacheFix(what, path string) string {
	if f, ok := cacheFixes[what]; ok {
		return f
	}
	return fmt.Sprintf("mount the cache instead of keeping it (RUN --mount=type=cache,target=%s …), or delete it in the RUN that fills it", path)
}

func checkVCS(_ context.Context, a *analysis) ([]Warning, error) {
	var ws []Warning
	for i, L := range a.rep.Layers {
		if !a.own(i) {
			continue
		}
		whats, all := a.allFacts(i, factVCS)
		if len(all) == 0 {
			continue
		}
		paths, bytes, text := summarize(all)
		fix := "copy only the files the image needs, or delete the VCS directory in the step that made it (git clone --depth 1 … && rm -rf .git)"
		if _, copied := a.copiedFrom(i); !copied && isCopy(L) {
			fix = "add .git (and .hg, .svn) to .dockerignore, or COPY --exclude=.git"
		}
		ws = append(ws, Warning{Rule: RuleVCSDirShipped, Layer: i, Line: L.Line, Stage: a.source(i), Paths: paths, Bytes: bytes,
			Message: fmt.Sprintf("%s metadata in the image: %s, %s", strings.Join(whats, ", "), text, a.how(i)), Fix: fix})
	}
	return ws, nil
}

func checkSecrets(_ context.Context, a *analysis) ([]Warning, error) {
	var ws []Warning
	for i, L := range a.rep.Layers {
		if !a.own(i) {
			continue
		}
		whats, all := a.allFacts(i, factSecret)
		if len(all) == 0 {
			continue
		}
		paths, bytes, text := summarize(all)
		ws = append(ws, Warning{Rule: RuleSecretShipped, Layer: i, Line: L.Line, Stage: a.source(i), Paths: paths, Bytes: bytes,
			Message: fmt.Sprintf("%s in the image: %s, %s", strings.Join(whats, ", "), text, a.how(i)),
			Fix: "keep it out of the image (.dockerignore it; give a build its secrets with RUN --mount=type=secret) " +
				"and replace it: anyone who can pull the image can read it"})
	}
	return ws, nil
}

// isCopy reports whether layer L is a COPY or ADD.
func isCopy(L Layer) bool {
	in := strings.ToUpper(L.Instruction)
	if in == "" {
		in = strings.ToUpper(L.CreatedBy)
	}
	return strings.HasPrefix(in, "COPY ") || strings.HasPrefix(in, "ADD ")
}

// allFacts is layerFacts flattened: the descriptions found, and every
// fact of kind in layer i in the order of its description.
func (a *analysis) allFacts(i int, kind factKind) ([]string, []*fact) {
	whats, byWhat := a.layerFacts(i, kind)
	var all []*fact
	for _, what := range whats {
		all = append(all, byWhat[what]...)
	}
	return whats, all
}
