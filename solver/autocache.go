package solver

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Automatic toolchain caches.
//
// Only what crosses a stage boundary reaches the image, so kiln may change
// how a builder stage runs as long as everything other stages read of it
// stays the same. When a builder stage runs Go, kiln mounts Go's build
// cache (GOCACHE) and module cache (GOMODCACHE) from persistent,
// content-addressed directories in the store, as a Dockerfile would with
// RUN --mount=type=cache — so an edit recompiles one package, not the
// world; and likewise the download caches of npm, pip and cargo. The
// rules, in the order kiln applies them:
//
//  1. Never with --no-auto-cache (WithoutAutoCache), never for the target
//     stage, never for a stage the build does not plan (one only an ONBUILD
//     trigger names), never for a stage another stage of the build is FROM
//     (it inherits every file), and never for a stage that runs as another
//     user than root (its base image's user, or a USER instruction).
//  2. A RUN runs a toolchain when the stage's environment names it or its
//     command line runs it (the toolchains table below):
//     Go: GOLANG_VERSION, GOROOT, GOPATH, GOCACHE, GOMODCACHE, GOTOOLCHAIN,
//     a PATH entry ending in /go/bin, or `go build|install|mod|test|run|
//     generate|get|vet|list|work|tool`; npm: NODE_VERSION, npm_config_cache,
//     or `npm ci|install|i|add|update|rebuild|exec|pack`, npx; pip:
//     PYTHON_VERSION, PIP_CACHE_DIR, or `pip|pip3|python -m pip install|
//     download|wheel`; cargo: CARGO_HOME, RUSTUP_HOME, RUST_VERSION, a PATH
//     entry ending in /cargo/bin, or `cargo build|fetch|install|test|run|
//     check|…`. From the first such RUN on, the stage uses the cache paths
//     the toolchain would use in it — Go: GOCACHE, else
//     $XDG_CACHE_HOME/go-build, else $HOME/.cache/go-build; GOMODCACHE,
//     else the first GOPATH entry's pkg/mod, else $HOME/go/pkg/mod; npm:
//     npm_config_cache, else $HOME/.npm; pip: PIP_CACHE_DIR, else
//     $XDG_CACHE_HOME/pip, else $HOME/.cache/pip (none with
//     PIP_NO_CACHE_DIR); cargo: $CARGO_HOME/registry and $CARGO_HOME/git
//     (CARGO_HOME else $HOME/.cargo) — with HOME as the stage's ENV sets
//     it, else /root (config files such as `go env -w`'s, .npmrc or
//     pip.conf are not read) — and every later RUN of the stage mounts them
//     too, so no step sees less of them than the steps before it wrote.
//  3. A path is left out (the stage runs as without it) when a stage of the
//     build reads it through COPY --from or RUN --mount from= (the path, a
//     directory above it — "/" included — or one inside it; a source with a
//     variable or a wildcard reads the directory before it), or when a RUN
//     of the stage names it on its command line (the path, a directory
//     above it other than "/", one inside it, with $VARs expanded from the
//     stage's env and ~ as HOME; or GOCACHE/GOMODCACHE or "go clean"): such
//     a command may inspect or remove the cache. If that RUN — or a COPY,
//     ADD or WORKDIR writing into the path (or, for COPY and ADD, into a
//     directory above it) — comes after a RUN that mounted the path, the
//     stage runs again from its start without it.
//  4. When it runs, a RUN mounts a path only if its snapshot holds nothing
//     there (the path is missing or an empty directory, reached through no
//     symlink) and no RUN --mount covers it; else that RUN writes there as
//     usual, and so does every later one (nothing else writes the path
//     after the first mount, by rule 3).
//
// The step's cache key names the paths (so a layer without them is never
// taken for one with them: a build in which another stage reads the
// paths, or with --no-auto-cache, has other keys), and apart from the
// paths and the directories above them a RUN's layer is what it would be
// without the caches (the runtime removes the mount points it made).
// The caches are safe to share: Go's build cache is content-addressed
// (what is missing is compiled again), its module cache is verified
// against go.sum and locked by the go command itself; npm's cacache is
// content-addressed with atomic writes; pip checks hashes and locks; cargo
// verifies checksums of what it downloads — so every build of the store
// shares one directory per cache kind ("shared" mounts, as BuildKit's
// default, and as their docs show these caches mounted). A step that
// mounted a kept cache (Go's modules, cargo's registry and git) is reused
// from the cache only while that directory still holds what it wrote (the
// directory's epoch; see autoDirs), so a later offline RUN never misses a
// module an earlier cached step downloaded.

// autoPath is one cache path a stage mounts.
type autoPath struct {
	kind *cacheKind
	path string
}

// autoState is a stage's automatic caches.
type autoState struct {
	off      string          // why the stage gets none ("" = it may)
	reads    []string        // what other stages read of it
	active   []autoPath      // the paths in use, from the RUN that first used each
	excluded map[string]bool // paths the stage runs without
	noted    bool            // the reason it gets none was shown
}

// autoRestart asks to run the stage again without paths an earlier RUN
// mounted (rule 3).
type autoRestart struct {
	paths []string
	why   string
}

func (e *autoRestart) Error() string {
	return fmt.Sprintf("auto cache: %s: the stage runs again without %s", e.why, strings.Join(e.paths, ", "))
}

// autoInit decides whether the stage may get automatic caches (rule 1);
// excluded are paths an earlier run of the stage gave up.
func (s *stage) autoInit(cmds []instructions.Command, excluded []string) {
	a := &s.auto
	a.excluded = map[string]bool{}
	for _, p := range excluded {
		a.excluded[p] = true
	}
	switch {
	case s.opts.noAutoCache:
		a.off = "--no-auto-cache"
	case s.ps == s.plan.Target:
		a.off = "the target stage"
	case !planned(s.plan, s.ps):
		a.off = "only an ONBUILD trigger names it"
	case !rootUser(s.img.Config.Config.User):
		a.off = "it runs as user " + s.img.Config.Config.User
	}
	for _, c := range cmds {
		if _, ok := c.(*instructions.UserCommand); ok && a.off == "" {
			a.off = "it has a USER instruction"
		}
	}
	if a.off != "" {
		return
	}
	reads, whole := s.plan.Reads(s.ps)
	if whole {
		a.off = "another stage is FROM it"
	}
	a.reads = reads
}

func planned(p *plan.Plan, ps *plan.Stage) bool { return slices.Contains(p.Order, ps) }

// rootUser reports a USER value that runs as root.
func rootUser(spec string) bool {
	u, _, _ := strings.Cut(spec, ":")
	return u == "" || u == "0" || u == "root"
}

// runText is what rules 2 and 3 read of a RUN: its argv and its heredocs
// (a #! heredoc runs as a file the argv only names).
func runText(c *instructions.RunCommand, args []string) []string {
	out := append([]string(nil), args...)
	for _, f := range c.Files {
		out = append(out, f.Data)
	}
	return out
}

// autoRun gives the paths a RUN with command text args (runText) mounts
// (rules 2 and 3), in the order they became active; they go into its
// cache key.
func (s *stage) autoRun(args []string) []autoPath {
	a := &s.auto
	tcs := running(s.env, args)
	if a.off != "" {
		if len(tcs) > 0 && !a.noted && a.off != "--no-auto-cache" && a.off != "the target stage" {
			a.noted = true
			progress.Notef(s.sink, "auto cache: none for stage %s%s: %s", s.label, s.ps.Ref(), a.off)
		}
		return nil
	}
	if len(tcs) == 0 {
		return a.active
	}
	env := s.keyEnv()
	var kinds []*cacheKind
	for _, tc := range tcs {
		kinds = append(kinds, tc.caches...)
	}
	var added []string
	for _, k := range kinds {
		p := k.path(env)
		if p == "" || p == "/" || a.excluded[p] || a.has(p) {
			continue
		}
		if r := readInside(a.reads, p); r != "" {
			a.excluded[p] = true
			progress.Notef(s.sink, "auto cache: not %s for stage %s%s: another stage reads %s", p, s.label, s.ps.Ref(), r)
			continue
		}
		if why := namesPath(env, args, k, p); why != "" {
			a.excluded[p] = true
			continue
		}
		if r := s.triggers.claim(s.ps, p); r != "" {
			a.excluded[p] = true
			progress.Notef(s.sink, "auto cache: not %s for stage %s%s: an ONBUILD trigger reads %s", p, s.label, s.ps.Ref(), r)
			continue
		}
		a.active = append(a.active, autoPath{kind: k, path: p})
		added = append(added, p)
	}
	if len(added) > 0 {
		progress.Notef(s.sink, "auto cache: %s (stage %s%s, --no-auto-cache turns it off)", strings.Join(added, ", "), s.label, s.ps.Ref())
		s.stats.AutoCache = a.paths()
	}
	return a.active
}

// keyEnv is the environment the cache paths are found with: the stage's,
// with HOME as the RUN will have it for root when the stage sets none.
func (s *stage) keyEnv() []string {
	env := s.env
	if _, ok := image.EnvGet(env, "HOME"); !ok {
		env = append(append([]string(nil), env...), "HOME=/root")
	}
	return env
}

func (a *autoState) has(p string) bool {
	for _, ap := range a.active {
		if ap.path == p {
			return true
		}
	}
	return false
}

func (a *autoState) paths() []string {
	var out []string
	for _, ap := range a.active {
		out = append(out, ap.path)
	}
	return out
}

// autoKey is what the paths add to a RUN's cache key.
func autoKey(aps []autoPath) string {
	var out []string
	for _, ap := range aps {
		out = append(out, ap.kind.name+"="+ap.path)
	}
	return strings.Join(out, ",")
}

// autoWrites checks an instruction (expanded) of a stage with active
// paths against rule 3: a RUN naming one, or a COPY, ADD or WORKDIR
// writing into one, makes the stage run again without it.
func (s *stage) autoWrites(c instructions.Command) error {
	a := &s.auto
	if len(a.active) == 0 {
		return nil
	}
	wd := s.img.Config.Config.WorkingDir
	abs := func(p string) string {
		if !path.IsAbs(p) {
			p = path.Join("/", wd, p)
		}
		return path.Clean(p)
	}
	var text []string // a RUN's command text, found once (a #! heredoc writes its script)
	if r, ok := c.(*instructions.RunCommand); ok {
		if args, _, err := s.runArgs(r); err == nil {
			text = runText(r, args)
		}
	}
	env := s.keyEnv()
	var re *autoRestart
	for _, ap := range a.active {
		var why string
		switch c := c.(type) {
		case *instructions.RunCommand:
			if text != nil {
				why = namesPath(env, text, ap.kind, ap.path)
			}
		case *instructions.CopyCommand:
			if d := abs(c.DestPath); within(d, ap.path) || within(ap.path, d) {
				why = "COPY writes to " + d
			}
		case *instructions.AddCommand:
			if d := abs(c.DestPath); within(d, ap.path) || within(ap.path, d) {
				why = "ADD writes to " + d
			}
		case *instructions.WorkdirCommand:
			if d := abs(c.Path); within(d, ap.path) {
				why = "WORKDIR " + d
			}
		}
		if why == "" {
			continue
		}
		if re == nil {
			re = &autoRestart{why: why}
		}
		re.paths = append(re.paths, ap.path)
	}
	if re != nil {
		return re
	}
	return nil
}

// within reports p is dir or inside it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// readInside returns a read path that is p, above p or inside it.
func readInside(reads []string, p string) string {
	for _, r := range reads {
		if within(p, r) || within(r, p) {
			return r
		}
	}
	return ""
}

var pathToken = regexp.MustCompile("[^\\s;&|()<>'\"`,:=]+")

// namesPath says why a RUN's command line names cache path p ("" when it
// does not): the path, a directory above it other than "/", or one inside
// it (with $VARs expanded from env and a leading ~ as HOME), or one of
// the kind's words.
func namesPath(env, args []string, k *cacheKind, p string) string {
	text := strings.Join(args, " ")
	for _, w := range k.words {
		if strings.Contains(text, w) {
			return "RUN names " + w
		}
	}
	home, _ := image.EnvGet(env, "HOME")
	for _, tok := range pathToken.FindAllString(text, -1) {
		if strings.HasPrefix(tok, "~") {
			tok = home + tok[1:]
		}
		if strings.Contains(tok, "$") {
			tok = os.Expand(tok, func(name string) string {
				v, _ := image.EnvGet(env, name)
				return v
			})
		}
		if !path.IsAbs(tok) {
			continue
		}
		t := path.Clean(tok)
		if (t != "/" && within(p, t)) || within(t, p) {
			return "RUN names " + t
		}
	}
	return ""
}
