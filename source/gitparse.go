package source

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// ErrNotGit reports a source that is not a git URL: ADD treats it as an
// HTTP(S) URL or a path in the build context instead.
var ErrNotGit = errors.New("source: not a git URL")

// GitURL is a git source as a Dockerfile ADD names it, parsed without any
// I/O. The forms are those of BuildKit's Dockerfile frontend (dfgitutil):
//
//	https://host/org/repo.git#ref:subdir   (http(s) only with a path ending in .git)
//	git://host/repo#ref                    (any path)
//	ssh://user@host:22/repo.git#ref
//	user@host:org/repo.git#ref             (scp-style ssh)
//	…/repo.git?ref=v1&subdir=dir&checksum=<sha>&keep-git-dir=true&submodules=false
type GitURL struct {
	// Remote is the repository URL handed to git: the source without its
	// #fragment and ?query, its path cleaned (as BuildKit normalises it).
	Remote string
	// Ref is the branch, tag, full commit sha or refs/… name to check out;
	// "" means the remote's default branch.
	Ref string
	// Subdir is a directory of the repository, cleaned and relative; "" is its root.
	Subdir string
	// Checksum (?checksum= or ?commit=) is a hex prefix of the commit, or of
	// the annotated tag object, that Ref must resolve to.
	Checksum string
	// KeepGitDir is ?keep-git-dir=; nil when the URL does not say.
	KeepGitDir *bool
	// SkipSubmodules is ?submodules=false.
	SkipSubmodules bool
	// FetchByCommit (?fetch-by-commit) trusts Checksum as the commit: no
	// ls-remote, the commit is fetched directly.
	FetchByCommit bool
	// Insecure reports an unencrypted transport (git://, http://).
	Insecure bool
}

var (
	// protoRe and scpRe are BuildKit's (util/gitutil, util/sshutil).
	protoRe = regexp.MustCompile(`^[a-zA-Z0-9]+://`)
	scpRe   = regexp.MustCompile(`^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*?)(?:\?(.*?))?(?:#(.*))?$`)
	hexRe   = regexp.MustCompile(`^[a-fA-F0-9]+$`)
)

// IsGitURL reports whether ADD treats src as a git repository.
func IsGitURL(src string) bool {
	_, err := ParseGit(src)
	return !errors.Is(err, ErrNotGit)
}

// ParseGit parses an ADD source as BuildKit does. It returns an error
// wrapping ErrNotGit when src is not a git URL (a local path, an HTTP(S) URL
// whose path does not end in .git, "github.com/org/repo"), and another error
// when src is a git URL with a bad query, which fails the ADD.
func ParseGit(src string) (GitURL, error) {
	var (
		g        GitURL
		query    url.Values
		fragment string
	)
	switch {
	case strings.HasPrefix(src, "./"), strings.HasPrefix(src, "../"), strings.HasPrefix(src, "github.com/"):
		return g, ErrNotGit
	case protoRe.MatchString(src):
		u, err := url.Parse(src)
		if err != nil {
			return g, fmt.Errorf("%w: %v", ErrNotGit, err)
		}
		switch u.Scheme {
		case "http", "https":
			if !strings.HasSuffix(u.Path, ".git") {
				return g, ErrNotGit
			}
		case "git", "ssh":
		default:
			return g, fmt.Errorf("%w: protocol %s", ErrNotGit, u.Scheme)
		}
		g.Insecure = u.Scheme == "http" || u.Scheme == "git"
		g.Remote = (&url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: path.Join("/", u.Path)}).String()
		query, fragment = u.Query(), u.Fragment
	default:
		m := scpRe.FindStringSubmatch(src)
		if m == nil {
			return g, ErrNotGit
		}
		q, err := url.ParseQuery(m[4])
		if err != nil {
			return g, fmt.Errorf("%w: %v", ErrNotGit, err)
		}
		p := path.Join("/", m[3])
		if !strings.HasPrefix(m[3], "/") {
			p = strings.TrimPrefix(p, "/")
		}
		g.Remote = url.User(m[1]).String() + "@" + m[2] + ":" + p
		query, fragment = q, m[5]
	}
	if fragment != "" {
		ref, subdir, _ := strings.Cut(fragment, ":")
		g.Ref, g.Subdir = ref, cleanSubdir(subdir)
	}
	if err := g.loadQuery(query); err != nil {
		return g, fmt.Errorf("git URL %s: %w", redactURL(src), err)
	}
	return g, nil
}

func cleanSubdir(s string) string { return strings.TrimPrefix(path.Join("/", s), "/") }

// loadQuery applies the query form, with BuildKit's checks and messages.
func (g *GitURL) loadQuery(q url.Values) error {
	var tag, branch string
	for _, k := range slices.Sorted(maps.Keys(q)) {
		v := q[k]
		if len(v) > 1 {
			return fmt.Errorf("query %q has multiple values", k)
		}
		val, set := "", len(v) == 1 && v[0] != ""
		if set {
			val = v[0]
		} else if k != "submodules" && k != "keep-git-dir" && k != "fetch-by-commit" {
			return fmt.Errorf("query %q has no value", k)
		}
		switch k {
		case "ref":
			if g.Ref != "" && g.Ref != val {
				return fmt.Errorf("ref conflicts: %q vs %q", g.Ref, val)
			}
			g.Ref = val
		case "tag":
			tag = val
		case "branch":
			branch = val
		case "subdir":
			if g.Subdir != "" && g.Subdir != val {
				return fmt.Errorf("subdir conflicts: %q vs %q", g.Subdir, val)
			}
			g.Subdir = cleanSubdir(val)
		case "checksum", "commit":
			g.Checksum = val
		case "keep-git-dir":
			b, err := queryBool(k, val, set)
			if err != nil {
				return err
			}
			g.KeepGitDir = &b
		case "submodules":
			b, err := queryBool(k, val, set)
			if err != nil {
				return err
			}
			g.SkipSubmodules = !b
		case "fetch-by-commit":
			b, err := queryBool(k, val, set)
			if err != nil {
				return err
			}
			g.FetchByCommit = b
		case "mtime":
			// accepted by the frontend, but BuildKit's ADD does not pass it on
			if val != "checkout" && val != "commit" {
				return fmt.Errorf("invalid mtime value: %q (must be \"checkout\" or \"commit\")", val)
			}
		default:
			return fmt.Errorf("unexpected query %q", k)
		}
	}
	return g.applyTagBranch(tag, branch)
}

func queryBool(k, v string, set bool) (bool, error) {
	if !set {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("invalid %s value: %q", k, v)
	}
	return b, nil
}

func (g *GitURL) applyTagBranch(tag, branch string) error {
	if tag != "" {
		if !strings.HasPrefix(tag, "refs/tags/") {
			tag = "refs/tags/" + tag
		}
		if g.Ref != "" && g.Ref != tag {
			return fmt.Errorf("ref conflicts: %q vs %q", g.Ref, tag)
		}
		g.Ref = tag
	}
	if branch != "" {
		if tag != "" {
			return errors.New("branch conflicts with tag")
		}
		if !strings.HasPrefix(branch, "refs/heads/") {
			branch = "refs/heads/" + branch
		}
		if g.Ref != "" && g.Ref != branch {
			return fmt.Errorf("ref conflicts: %q vs %q", g.Ref, branch)
		}
		g.Ref = branch
	}
	return nil
}

// redactURL hides credentials in a URL as BuildKit does (util/urlutil):
// user and password become "xxxxx". Strings that are not URLs are returned
// as they are.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	name := u.User.Username()
	_, hasPass := u.User.Password()
	switch {
	case name != "" && hasPass:
		u.User = url.UserPassword("xxxxx", "xxxxx")
	case name != "":
		u.User = url.User("xxxxx")
	case hasPass:
		u.User = url.UserPassword(name, "xxxxx")
	}
	return u.String()
}

// isCommitSHA reports a full sha1 or sha256 object name in lower case.
func isCommitSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
