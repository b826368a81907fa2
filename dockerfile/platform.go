package dockerfile

import (
	"fmt"
	"strings"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// Platform helpers with containerd's rules (what BuildKit uses for
// --platform, FROM --platform and the platform ARGs).

// ParsePlatform parses "os/arch[/variant]" (or a bare os or arch) into a
// normalized platform: "linux/aarch64" is linux/arm64, "linux/arm" is
// linux/arm/v7.
func ParsePlatform(spec string) (ocispecs.Platform, error) {
	p, err := parsePlatform(strings.TrimSpace(spec))
	if err != nil {
		return p, fmt.Errorf("invalid platform %s", err)
	}
	return normalizePlatform(p), nil
}

// FormatPlatform is "os/arch[/variant]" of a normalized platform (as
// TARGETPLATFORM shows it).
func FormatPlatform(p ocispecs.Platform) string {
	return formatPlatform(normalizePlatform(p))
}

// HostPlatform is the platform of the machine kiln runs on, normalized.
func HostPlatform() ocispecs.Platform { return normalizePlatform(hostPlatform()) }

// SamePlatform reports whether a and b name the same platform (after
// normalization: arm64 and arm64/v8 are one).
func SamePlatform(a, b ocispecs.Platform) bool {
	a, b = normalizePlatform(a), normalizePlatform(b)
	return a.OS == b.OS && a.Architecture == b.Architecture && a.Variant == b.Variant
}
