package store

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Normalize turns a user's image reference into the full name the store
// uses: "busybox" → "docker.io/library/busybox:latest".
func Normalize(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	reg := r.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	full := reg + "/" + r.Context().RepositoryStr()
	if d, ok := r.(name.Digest); ok {
		return full + "@" + d.DigestStr(), nil
	}
	return full + ":" + r.Identifier(), nil
}

// Familiar shortens a full name for display, like docker does:
// "docker.io/library/busybox:latest" → "busybox:latest".
func Familiar(full string) string {
	s := strings.TrimPrefix(full, "docker.io/")
	return strings.TrimPrefix(s, "library/")
}
