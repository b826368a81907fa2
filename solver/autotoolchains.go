package solver

import (
	"path"
	"regexp"
	"strings"

	"github.com/kiln-build/kiln/image"
)

// The toolchains whose caches builder stages get (autocache.go has the
// rules): how a RUN is seen to run each, and where each keeps its caches.

// cacheKind is a cache a toolchain keeps that builds may share.
type cacheKind struct {
	name string
	// keep: a later step may need what an earlier one wrote (modules
	// downloaded, then built offline): a step that used the cache is taken
	// from the step cache only while the cache still holds its writes.
	keep bool
	// trim: an export bounded in size may take the newest files only (a
	// build cache: what is missing is built again).
	trim bool
	// path is where the toolchain keeps the cache with env ("" for none).
	path func(env []string) string
	// words on a RUN's command line that keep the cache out of its stage
	words []string
}

// toolchain is a toolchain whose caches a builder stage may get.
type toolchain struct {
	name string
	// env: variables whose presence in the stage's environment says the
	// stage runs the toolchain (its official images set them)
	env []string
	// bins: PATH entries ending so say it too
	bins []string
	// cmd matches a command line that runs it
	cmd    *regexp.Regexp
	caches []*cacheKind
}

// cmdSep is what may come before a command's name on a command line.
const cmdSep = `(^|[\s;&|(){}'"/=` + "`" + `])`

// cmdOpts are a command's options before its subcommand.
const cmdOpts = `(\s+--?[\w.-]+(=\S+)?)*`

var toolchains = []*toolchain{
	{
		name: "Go",
		env:  []string{"GOLANG_VERSION", "GOROOT", "GOPATH", "GOCACHE", "GOMODCACHE", "GOTOOLCHAIN"},
		bins: []string{"/go/bin"},
		cmd:  regexp.MustCompile(cmdSep + `go\s+(build|install|mod|test|run|generate|get|vet|list|work|tool)\b`),
		caches: []*cacheKind{
			{name: "go-build", trim: true, path: goCachePath, words: []string{"GOCACHE", "go clean"}},
			{name: "go-mod", keep: true, path: goModCachePath, words: []string{"GOMODCACHE", "go clean"}},
		},
	},
	{
		// npm's cache is content-addressed (cacache) and safe to share
		name: "npm",
		env:  []string{"NODE_VERSION", "npm_config_cache", "NPM_CONFIG_CACHE"},
		cmd:  regexp.MustCompile(cmdSep + `(npm` + cmdOpts + `\s+(ci|install|i|add|update|up|upgrade|rebuild|exec|x|pack)\b|npx\s)`),
		caches: []*cacheKind{
			{name: "npm", trim: true, path: npmCachePath, words: []string{"npm cache", "npm_config_cache", "NPM_CONFIG_CACHE"}},
		},
	},
	{
		// pip's cache holds HTTP responses and built wheels, checked against
		// their hashes; pip locks it itself
		name: "pip",
		env:  []string{"PYTHON_VERSION", "PIP_CACHE_DIR"},
		cmd:  regexp.MustCompile(cmdSep + `(pip[0-9.]*|python[0-9.]*\s+-m\s+pip)` + cmdOpts + `\s+(install|download|wheel)\b`),
		caches: []*cacheKind{
			{name: "pip", trim: true, path: pipCachePath, words: []string{"PIP_CACHE_DIR", "pip cache"}},
		},
	},
	{
		// cargo's registry (index and .crate downloads) and git checkouts;
		// kept: `cargo fetch` then `cargo build --offline` is common
		name: "cargo",
		env:  []string{"CARGO_HOME", "RUSTUP_HOME", "RUST_VERSION"},
		bins: []string{"/cargo/bin", "/.cargo/bin"},
		cmd:  regexp.MustCompile(cmdSep + `cargo(\s+\+\S+)?` + cmdOpts + `\s+(build|b|fetch|install|test|t|run|r|check|c|update|generate-lockfile|vendor|doc|d|bench|clippy|fix|tree|metadata)\b`),
		caches: []*cacheKind{
			{name: "cargo-registry", keep: true, path: cargoPath("registry")},
			{name: "cargo-git", keep: true, path: cargoPath("git")},
		},
	},
}

// kindOf is the kind of a cache id ("go-build/0").
func kindOf(id string) *cacheKind {
	name, _, _ := strings.Cut(id, "/")
	for _, tc := range toolchains {
		for _, k := range tc.caches {
			if k.name == name {
				return k
			}
		}
	}
	return nil
}

// absEnv is an environment variable that holds an absolute path ("" when
// it does not), and whether it is set.
func absEnv(env []string, name string) (string, bool) {
	v, ok := image.EnvGet(env, name)
	if !ok || v == "" {
		return "", ok && v != ""
	}
	if !path.IsAbs(v) {
		return "", true
	}
	return path.Clean(v), true
}

// homeDir is HOME/rel, "" when HOME is not an absolute path.
func homeDir(env []string, rel ...string) string {
	h, _ := absEnv(env, "HOME")
	if h == "" {
		return ""
	}
	return path.Join(append([]string{h}, rel...)...)
}

// npmCachePath is npm's cache as npm finds it from the environment (a
// `cache=` line in an .npmrc is not read).
func npmCachePath(env []string) string {
	for _, k := range []string{"npm_config_cache", "NPM_CONFIG_CACHE"} {
		if v, set := absEnv(env, k); set {
			return v
		}
	}
	return homeDir(env, ".npm")
}

// pipCachePath is pip's cache as pip finds it from the environment (pip's
// config files are not read); none with PIP_NO_CACHE_DIR.
func pipCachePath(env []string) string {
	if _, ok := image.EnvGet(env, "PIP_NO_CACHE_DIR"); ok {
		return ""
	}
	if v, set := absEnv(env, "PIP_CACHE_DIR"); set {
		return v
	}
	if x, set := absEnv(env, "XDG_CACHE_HOME"); set {
		if x == "" {
			return ""
		}
		return path.Join(x, "pip")
	}
	return homeDir(env, ".cache", "pip")
}

// cargoPath is a directory in CARGO_HOME (else ~/.cargo).
func cargoPath(dir string) func(env []string) string {
	return func(env []string) string {
		if v, set := absEnv(env, "CARGO_HOME"); set {
			if v == "" {
				return ""
			}
			return path.Join(v, dir)
		}
		return homeDir(env, ".cargo", dir)
	}
}

// goCachePath is GOCACHE as the go command finds it.
func goCachePath(env []string) string {
	if v, _ := image.EnvGet(env, "GOCACHE"); v != "" {
		if v == "off" || !path.IsAbs(v) {
			return ""
		}
		return path.Clean(v)
	}
	if x, _ := image.EnvGet(env, "XDG_CACHE_HOME"); x != "" {
		if !path.IsAbs(x) {
			return ""
		}
		return path.Join(x, "go-build")
	}
	if h, _ := image.EnvGet(env, "HOME"); path.IsAbs(h) {
		return path.Join(h, ".cache", "go-build")
	}
	return ""
}

// goModCachePath is GOMODCACHE as the go command finds it.
func goModCachePath(env []string) string {
	if v, _ := image.EnvGet(env, "GOMODCACHE"); v != "" {
		if !path.IsAbs(v) {
			return ""
		}
		return path.Clean(v)
	}
	gopath, set := image.EnvGet(env, "GOPATH")
	if !set || gopath == "" {
		h, _ := image.EnvGet(env, "HOME")
		if !path.IsAbs(h) {
			return ""
		}
		gopath = path.Join(h, "go")
	}
	first, _, _ := strings.Cut(gopath, ":")
	if !path.IsAbs(first) {
		return ""
	}
	return path.Join(first, "pkg", "mod")
}

// runs reports whether a RUN runs the toolchain: by the stage's
// environment or by its command line.
func (tc *toolchain) runs(env, args []string) bool {
	for _, k := range tc.env {
		if _, ok := image.EnvGet(env, k); ok {
			return true
		}
	}
	if p, _ := image.EnvGet(env, "PATH"); p != "" && len(tc.bins) > 0 {
		for _, d := range strings.Split(p, ":") {
			for _, b := range tc.bins {
				if strings.HasSuffix(path.Clean(d), b) {
					return true
				}
			}
		}
	}
	return tc.cmd.MatchString(strings.Join(args, " "))
}

// running are the toolchains a RUN runs.
func running(env, args []string) []*toolchain {
	var out []*toolchain
	for _, tc := range toolchains {
		if tc.runs(env, args) {
			out = append(out, tc)
		}
	}
	return out
}
