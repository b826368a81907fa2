package dockerfile

// Image references as BuildKit validates a FROM (distribution/reference's
// ParseNormalizedNamed): the grammar decides InvalidDefaultArgInFrom, and a
// FROM that fails it stops the check.

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/opencontainers/go-digest"
)

var (
	refDomainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	refDomain          = `(?:` + refDomainComponent + `(?:\.` + refDomainComponent + `)*|\[(?:[a-fA-F0-9:]+)\])(?::[0-9]+)?`
	refPathComponent   = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
	refRemoteName      = refPathComponent + `(?:/` + refPathComponent + `)*`
	refName            = `(?:` + refDomain + `/)?` + refRemoteName
	refDigest          = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}`

	referenceRe  = regexp.MustCompile(`^(` + refName + `)(?::([\w][\w.-]{0,127}))?(?:@(` + refDigest + `))?$`)
	anchoredName = regexp.MustCompile(`^(?:(` + refDomain + `)/)?(` + refRemoteName + `)$`)
	identifierRe = regexp.MustCompile(`^[a-f0-9]{64}$`)
)

// validateImageRef reports why s is not a valid image reference, as
// reference.ParseNormalizedNamed would.
func validateImageRef(s string) error {
	if identifierRe.MatchString(s) {
		return fmt.Errorf("invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s)
	}
	domain, remainder := splitDockerDomain(s)
	remote, _, _ := strings.Cut(remainder, ":")
	if strings.ToLower(remote) != remote {
		return fmt.Errorf("invalid reference format: repository name (%s) must be lowercase", remote)
	}
	full := domain + "/" + remainder
	m := referenceRe.FindStringSubmatch(full)
	if m == nil {
		if referenceRe.MatchString(strings.ToLower(full)) {
			return errors.New("invalid reference format: repository name must be lowercase")
		}
		return errors.New("invalid reference format")
	}
	repoPath := m[1]
	if nm := anchoredName.FindStringSubmatch(m[1]); len(nm) == 3 {
		repoPath = nm[2]
	}
	if len(repoPath) > 255 {
		return errors.New("repository name must not be more than 255 characters")
	}
	if m[3] != "" {
		if _, err := digest.Parse(m[3]); err != nil {
			return err
		}
	}
	return nil
}

func splitDockerDomain(name string) (domain, remote string) {
	maybeDomain, maybeRemote, ok := strings.Cut(name, "/")
	switch {
	case !ok:
		return "docker.io", "library/" + name
	case maybeDomain == "localhost":
		domain, remote = maybeDomain, maybeRemote
	case maybeDomain == "index.docker.io":
		domain, remote = "docker.io", maybeRemote
	case strings.ContainsAny(maybeDomain, ".:"), strings.ToLower(maybeDomain) != maybeDomain:
		domain, remote = maybeDomain, maybeRemote
	default:
		domain, remote = "docker.io", name
	}
	if domain == "docker.io" && !strings.ContainsRune(remote, '/') {
		remote = "library/" + remote
	}
	return domain, remote
}
