package explain

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kiln-build/kiln/progress"
)

// Rule is one leak check: something a builder stage needs that a final
// image should not carry. docs/explain.md describes each with examples.
type Rule struct {
	ID          string
	Description string
	check       func(ctx context.Context, a *analysis) ([]Warning, error)
}

// The rules' IDs.
const (
	RuleToolchainCopied    = "ToolchainCopied"
	RuleBuildCacheShipped  = "BuildCacheShipped"
	RuleVCSDirShipped      = "VCSDirShipped"
	RuleSecretShipped      = "SecretShipped"
	RuleWholeStageCopied   = "WholeStageCopied"
	RuleToolchainBaseImage = "ToolchainBaseImage"
	RuleContextCopiedWhole = "ContextCopiedWhole"
)

var rules = []Rule{
	{RuleToolchainCopied, "a compiler or toolchain (Go, GCC, Clang, javac, rustc, node-gyp) came into the final image from another stage", checkToolchainCopied},
	{RuleBuildCacheShipped, "a package-manager or compiler cache (Go build and module caches, npm, pip, Cargo, Maven, apt, …) is in the image", checkBuildCache},
	{RuleVCSDirShipped, "VCS metadata (.git, .hg, .svn) is in the image", checkVCS},
	{RuleSecretShipped, "a private key or credentials file (PEM key, id_rsa, .env, .netrc, …) is in the image", checkSecrets},
	{RuleWholeStageCopied, "COPY --from=<stage> / copies a stage's whole filesystem", checkWholeStage},
	{RuleToolchainBaseImage, "the final stage is FROM a toolchain image (golang, node, rust, maven, gcc, …) although a builder stage exists", checkToolchainBase},
	{RuleContextCopiedWhole, "COPY . copies the whole build context into the final stage of a multi-stage build", checkContextCopy},
}

// Rules lists the leak rules in the order they run.
func Rules() []Rule { return append([]Rule(nil), rules...) }

func ruleByID(id string) (Rule, bool) {
	for _, r := range rules {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// check runs the rules that are not skipped and completes what they
// found: the Dockerfile, and whether a later layer deleted the paths.
func (a *analysis) check(ctx context.Context) ([]Warning, error) {
	ws := []Warning{}
	for _, r := range rules {
		if a.o.skip[r.ID] {
			continue
		}
		found, err := r.check(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("explain: rule %s: %w", r.ID, err)
		}
		ws = append(ws, found...)
	}
	for i := range ws {
		w := &ws[i]
		if a.rec != nil {
			w.File = a.rec.Dockerfile
		}
		if w.Paths == nil {
			w.Paths = []string{}
		}
		if w.Rule == RuleWholeStageCopied || w.Rule == RuleContextCopiedWhole {
			continue // their paths are only the layer's largest
		}
		if note := a.deletedLater(w.Layer, w.Paths); note != "" {
			w.Message += note
			w.Fix += "; deleting files in a later step does not shrink the image: delete them in the step that made them"
		}
	}
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].Layer < ws[j].Layer })
	return ws, nil
}

// deletedLater says which of paths (in layer i) a later layer deletes
// (a whiteout of them or of a directory above them, or an opaque
// directory above them): " (layer 3 deletes /app/.env, but its bytes
// still ship in layer 2)", or "" when none is.
func (a *analysis) deletedLater(i int, paths []string) string {
	if i < 0 {
		return ""
	}
	var parts []string
	left := append([]string(nil), paths...)
	for j := i + 1; j < len(a.scans) && len(left) > 0; j++ {
		s := a.scans[j]
		if s == nil || len(s.Whiteouts) == 0 {
			continue
		}
		var gone, kept []string
		for _, p := range left {
			if deletedBy(p, s.Whiteouts) {
				gone = append(gone, p)
			} else {
				kept = append(kept, p)
			}
		}
		if len(gone) == len(paths) {
			return fmt.Sprintf(" (layer %d deletes it, but its bytes still ship in layer %d)", j, i)
		}
		if len(gone) > 0 {
			parts = append(parts, fmt.Sprintf("layer %d deletes %s", j, strings.Join(gone, " ")))
		}
		left = kept
	}
	if len(parts) == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s, but the bytes still ship in layer %d)", strings.Join(parts, "; "), i)
}

func deletedBy(p string, whiteouts []string) bool {
	for _, w := range whiteouts {
		if opaque, ok := strings.CutSuffix(w, "/"); ok {
			if strings.HasPrefix(p, opaque+"/") || opaque == "" {
				return true
			}
			continue
		}
		if p == w || strings.HasPrefix(p, w+"/") {
			return true
		}
	}
	return false
}

// Progress is the warning as a build event, for the build's sink.
func (w Warning) Progress() progress.Warning {
	msg := w.Message + "; fix: " + w.Fix
	if w.Platform != "" {
		msg = "[" + w.Platform + "] " + msg
	}
	return progress.Warning{File: w.File, Line: w.Line, Rule: w.Rule, Message: msg}
}

// layerFacts returns the facts of kind in layer i's scan, grouped by
// their description, in the order found.
func (a *analysis) layerFacts(i int, kind factKind) (whats []string, byWhat map[string][]*fact) {
	s := a.scans[i]
	if s == nil {
		return nil, nil
	}
	byWhat = make(map[string][]*fact)
	for _, f := range s.Facts {
		if f.Kind != kind {
			continue
		}
		if byWhat[f.What] == nil {
			whats = append(whats, f.What)
		}
		byWhat[f.What] = append(byWhat[f.What], f)
	}
	return whats, byWhat
}

// summarize gives the paths of facts, their bytes, and a short listing
// for a message: "/usr/local/go (222.1 MiB), /root/go (1.0 MiB)".
func summarize(fs []*fact) (paths []string, bytes int64, text string) {
	var parts []string
	for _, f := range fs {
		paths = append(paths, f.Path)
		bytes += f.Bytes
		if len(parts) < 3 {
			parts = append(parts, f.Path+" ("+progress.Size(f.Bytes)+")")
		}
	}
	text = strings.Join(parts, ", ")
	if len(fs) > 3 {
		text += fmt.Sprintf(" and %d more", len(fs)-3)
	}
	return paths, bytes, text
}

// how says how layer i's files got into the image, for a message.
func (a *analysis) how(i int) string {
	L := a.rep.Layers[i]
	if from, ok := a.copiedFrom(i); ok {
		return fmt.Sprintf("copied from %s by %s", a.stageOrImage(from), made(L))
	}
	return "made by " + made(L)
}

// made says which instruction made layer L, for a message.
func made(L Layer) string {
	switch {
	case L.Instruction != "" && L.Stage != "":
		return fmt.Sprintf("%q in stage %s", L.Instruction, L.Stage)
	case L.Instruction != "":
		return fmt.Sprintf("%q", L.Instruction)
	case L.CreatedBy != "":
		return fmt.Sprintf("%q", L.CreatedBy)
	}
	return fmt.Sprintf("layer %d", L.Index)
}
