package explain

import "strings"

// dirPattern names a directory by the path components that end it:
// ".cache/go-build" matches /root/.cache/go-build and
// /home/u/.cache/go-build; an anchored pattern matches only from "/".
type dirPattern struct {
	comps    []string
	anchored bool
	what     string
}

func pattern(p, what string) dirPattern {
	anchored := strings.HasPrefix(p, "/")
	return dirPattern{comps: strings.Split(strings.Trim(p, "/"), "/"), anchored: anchored, what: what}
}

// cachePatterns are the package-manager and compiler caches: a build
// needs them, a running container does not.
var cachePatterns = []dirPattern{
	pattern(".cache/go-build", "Go build cache"),
	pattern("go/pkg/mod", "Go module cache"),
	pattern(".npm", "npm cache"),
	pattern(".cache/yarn", "Yarn cache"),
	pattern(".pnpm-store", "pnpm store"),
	pattern(".local/share/pnpm/store", "pnpm store"),
	pattern("node_modules/.cache", "node_modules/.cache (babel, webpack, …)"),
	pattern(".cache/pip", "pip cache"),
	pattern(".cache/pypoetry", "Poetry cache"),
	pattern(".cache/uv", "uv cache"),
	pattern(".cargo/registry", "Cargo registry"),
	pattern(".cargo/git", "Cargo git checkouts"),
	pattern("/usr/local/cargo/registry", "Cargo registry"),
	pattern("/usr/local/cargo/git", "Cargo git checkouts"),
	pattern(".m2/repository", "Maven repository"),
	pattern(".gradle/caches", "Gradle cache"),
	pattern(".gradle/wrapper/dists", "Gradle distributions"),
	pattern(".nuget/packages", "NuGet packages"),
	pattern(".composer/cache", "Composer cache"),
	pattern(".cache/composer", "Composer cache"),
	pattern(".cache/ccache", "ccache"),
	pattern(".ccache", "ccache"),
	pattern(".cache/bazel", "Bazel cache"),
	pattern(".config/go/telemetry", "Go telemetry counters"),
	pattern("/usr/local/bundle/cache", "Bundler gem cache"),
	pattern("/var/cache/apt", "apt package cache"),
	pattern("/var/lib/apt/lists", "apt package lists"),
	pattern("/var/cache/apk", "apk cache"),
	pattern("/var/cache/dnf", "dnf cache"),
	pattern("/var/cache/yum", "yum cache"),
}

// vcsDirs are the metadata directories of version control systems.
var vcsDirs = map[string]string{".git": "git", ".hg": "Mercurial", ".svn": "Subversion", ".bzr": "Bazaar"}

// patternSet finds which of its patterns a directory path falls in,
// trying at each component only the patterns that start with it.
type patternSet struct {
	pats    []dirPattern
	byFirst map[string][]int
}

func newPatternSet(pats []dirPattern) *patternSet {
	s := &patternSet{pats: pats, byFirst: make(map[string][]int)}
	for i, p := range pats {
		s.byFirst[p.comps[0]] = append(s.byFirst[p.comps[0]], i)
	}
	return s
}

// match returns the directory (an absolute path) a pattern names among
// the leading components of dirs, and the pattern's description.
func (s *patternSet) match(dirs []string) (root, what string, ok bool) {
	for i, c := range dirs {
		for _, pi := range s.byFirst[c] {
			p := s.pats[pi]
			if p.anchored && i != 0 || i+len(p.comps) > len(dirs) {
				continue
			}
			if equalStrings(dirs[i:i+len(p.comps)], p.comps) {
				return "/" + strings.Join(dirs[:i+len(p.comps)], "/"), p.what, true
			}
		}
	}
	return "", "", false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// notSecretDirs hold files of packages, whose keys are test fixtures
// (Go's testdata, npm and Python packages).
var notSecretDirs = map[string]bool{"node_modules": true, "site-packages": true, "dist-packages": true, "testdata": true}

var sshKeyNames = map[string]bool{"id_rsa": true, "id_dsa": true, "id_ecdsa": true, "id_ed25519": true,
	"id_ecdsa_sk": true, "id_ed25519_sk": true}

// envFile reports whether name is a dotenv file (.env, .env.production),
// not a template of one (.env.example).
func envFile(name string) bool {
	if name == ".env" {
		return true
	}
	rest, ok := strings.CutPrefix(name, ".env.")
	if !ok {
		return false
	}
	switch rest {
	case "example", "sample", "template", "dist", "defaults", "schema", "tmpl", "in":
		return false
	}
	return true
}

// credentialFiles are files that hold credentials by their name; the
// ones mapped to a non-empty marker only when their content has it.
var credentialFiles = map[string]string{
	".netrc":           "",
	".git-credentials": "",
	".pypirc":          "password",
	".npmrc":           "_auth",
	"credentials":      "aws_secret_access_key", // ~/.aws/credentials
	"config.json":      `"auth"`,                // ~/.docker/config.json
}
