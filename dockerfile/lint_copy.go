package dockerfile

// The checks of COPY and ADD (dockerfile2llb's dispatchCopy and
// validateCopySourcePath): CopyIgnoredFile, and the errors that stop a build.

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
)

type copyCheck struct {
	add          bool
	cmd          instructions.Command
	params       instructions.SourcesAndDest
	chown, chmod string
	link         bool
	checksum     string
}

// checkCopy checks a COPY or ADD; fromContext says its sources are the
// build context, where .dockerignore applies.
func (c *checker) checkCopy(cc copyCheck, fromContext bool, lint *linter.Linter) error {
	if cc.chown != "" && cc.link && chownByName(cc.chown) {
		return fmt.Errorf("--chown=%s: user and group names can't be resolved when used with --link, use numeric uid[:gid] instead", cc.chown)
	}
	if cc.chmod != "" {
		if p, err := strconv.ParseUint(cc.chmod, 8, 32); (err == nil && p > 0o7777) || (err != nil && isDigits(cc.chmod)) {
			return fmt.Errorf("invalid chmod parameter: '%v'. it should be octal string and between 0 and 07777", cc.chmod)
		}
	}
	if cc.checksum != "" {
		if len(cc.params.SourcePaths) != 1 {
			return errors.New("checksum can't be specified for multiple sources")
		}
		if src := cc.params.SourcePaths[0]; !isHTTPSource(src) && !isGitSource(src) {
			return errors.New("checksum requires HTTP(S) or Git sources")
		}
	}
	for _, src := range cc.params.SourcePaths {
		switch {
		case isGitSource(src):
			if !cc.add {
				return errors.New("source can't be a git ref for COPY")
			}
		case isHTTPSource(src):
			if !cc.add {
				return errors.New("source can't be a URL for COPY")
			}
		case fromContext:
			c.checkIgnored(cc, src, lint)
		}
	}
	return nil
}

// checkIgnored: CopyIgnoredFile, for a source .dockerignore excludes. As in
// BuildKit, nothing is checked when the patterns have exceptions ("!…").
func (c *checker) checkIgnored(cc copyCheck, src string, lint *linter.Linter) {
	pm := c.opts.ignore
	if pm == nil || pm.Exclusions() {
		return
	}
	src = path.Clean(src)
	if src == "." || src == "/" {
		root := false
		for _, p := range pm.Patterns() {
			if s := p.String(); !p.Exclusion() && (s == "*" || s == "**" || s == "**/*") {
				root = true
			}
		}
		if !root {
			return
		}
	}
	if ok, err := pm.MatchesOrParentMatches(src); err == nil && ok {
		verb := "Copy"
		if cc.add {
			verb = "Add"
		}
		lint.Run(&linter.RuleCopyIgnoredFile, cc.cmd.Location(), linter.RuleCopyIgnoredFile.Format(verb, src))
	}
}

var (
	gitProtoRe = regexp.MustCompile(`^[a-zA-Z0-9]+://`)
	gitSSHRe   = regexp.MustCompile(`^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*?)(?:\?(.*?))?(?:#(.*))?$`)
)

// isGitSource: a source BuildKit fetches with git (its ParseGitRef, minus
// the github.com/… form it takes for a local path).
func isGitSource(src string) bool {
	if strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") || strings.HasPrefix(src, "github.com/") {
		return false
	}
	if proto := gitProtoRe.FindString(src); proto != "" {
		switch strings.ToLower(strings.TrimSuffix(proto, "://")) {
		case "http", "https":
			u, err := url.Parse(src)
			return err == nil && strings.HasSuffix(u.Path, ".git")
		case "ssh", "git":
			return true
		}
		return false
	}
	return gitSSHRe.MatchString(src)
}

func isHTTPSource(src string) bool {
	return (strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")) && !isGitSource(src)
}

// chownByName: --chown names a user or group rather than a number.
func chownByName(chown string) bool {
	for _, v := range strings.SplitN(chown, ":", 2) {
		if v == "" || v == "root" {
			continue
		}
		if _, err := strconv.ParseInt(v, 10, 32); err != nil {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
