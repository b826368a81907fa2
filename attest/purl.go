package attest

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// A package URL (https://github.com/package-url/purl-spec) names a package
// by its ecosystem: pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS. Every part
// is percent-encoded except letters, digits and "-._~:", as the
// packageurl-go library BuildKit uses encodes them; qualifiers are sorted
// by key.

// qualifier is one KEY=VALUE of a package URL.
type qualifier struct{ key, value string }

// purl formats a package URL; namespace may hold several "/"-separated
// segments, and empty qualifier values are left out.
func purl(typ, namespace, name, version string, quals ...qualifier) string {
	var b strings.Builder
	b.WriteString("pkg:" + typ)
	for _, seg := range strings.Split(namespace, "/") {
		if seg != "" {
			b.WriteByte('/')
			escape(&b, seg)
		}
	}
	b.WriteByte('/')
	escape(&b, name)
	if version != "" {
		b.WriteByte('@')
		escape(&b, version)
	}
	var qs []qualifier
	for _, q := range quals {
		if q.value != "" {
			qs = append(qs, q)
		}
	}
	for i := 1; i < len(qs); i++ { // few: insertion sort by key
		for j := i; j > 0 && qs[j].key < qs[j-1].key; j-- {
			qs[j], qs[j-1] = qs[j-1], qs[j]
		}
	}
	for i, q := range qs {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		escape(&b, q.key)
		b.WriteByte('=')
		escape(&b, q.value)
	}
	return b.String()
}

func escape(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
}

// DockerPURL is the package URL of an image reference, as BuildKit's
// purl.RefToPURL writes it: the familiar name split into namespace and
// name, the tag as version (latest when the reference has neither tag nor
// digest), the digest and the platform as qualifiers:
// "busybox" → pkg:docker/busybox@latest?platform=linux%2Famd64.
func DockerPURL(ref string, platform *v1.Platform) (string, error) {
	return imagePURL("docker", ref, platform)
}

func imagePURL(typ, ref string, platform *v1.Platform) (string, error) {
	r, err := name.ParseReference(ref, name.WithDefaultTag(""))
	if err != nil {
		return "", fmt.Errorf("attest: image reference %q: %w", ref, err)
	}
	repo := r.Context().RepositoryStr()
	if reg := r.Context().RegistryStr(); reg != name.DefaultRegistry {
		repo = reg + "/" + repo
	} else {
		repo = strings.TrimPrefix(repo, "library/")
	}
	var version, dig string
	switch t := r.(type) {
	case name.Tag:
		version = t.TagStr()
	case name.Digest:
		dig = t.DigestStr()
		// a "name:tag@digest" reference keeps its tag as the version
		if before, _, ok := strings.Cut(ref, "@"); ok {
			if tr, err := name.NewTag(before, name.WithDefaultTag("")); err == nil {
				version = tr.TagStr()
			}
		}
	}
	if version == "" && dig == "" {
		version = "latest"
	}
	ns, base := "", repo
	if i := strings.LastIndex(repo, "/"); i >= 0 {
		ns, base = repo[:i], repo[i+1:]
	}
	return purl(typ, ns, base, version, qualifier{"digest", dig}, qualifier{"platform", FormatPlatform(platform)}), nil
}

// FormatPlatform writes a platform as BuildKit's platforms.Format of the
// normalized platform: os/arch[/variant], without arm64's v8 and amd64's
// v1 variants; "" for none.
func FormatPlatform(p *v1.Platform) string {
	if p == nil || p.OS == "" {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	switch v := p.Variant; {
	case v == "", p.Architecture == "arm64" && v == "v8", p.Architecture == "amd64" && v == "v1":
	default:
		s += "/" + v
	}
	return s
}
