package dockerfile

// Platform strings as BuildKit reads them (containerd/platforms Parse,
// Normalize and FormatAll), kept to what the checks need: they decide
// FromPlatformFlagConstDisallowed and word InvalidBaseImagePlatform. The
// daemon BuildKit's answers come from runs on Linux, so "linux" stands in for
// runtime.GOOS.

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strings"

	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

const daemonOS = "linux"

var (
	platformPartRe = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	platformOSRe   = regexp.MustCompile(`^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$`)
)

// hostPlatform is the platform kiln builds for (and BuildKit's default).
func hostPlatform() ocispecs.Platform {
	p := ocispecs.Platform{OS: daemonOS, Architecture: runtime.GOARCH}
	switch runtime.GOARCH {
	case "arm64":
		p.Variant = "v8"
	case "arm":
		p.Variant = "v7"
	}
	return p
}

// parsePlatform is containerd's platforms.Parse.
func parsePlatform(spec string) (ocispecs.Platform, error) {
	var p ocispecs.Platform
	if strings.Contains(spec, "*") {
		return p, fmt.Errorf("%q: wildcards not yet supported", spec)
	}
	parts := strings.SplitN(spec, "/", 4)
	m := platformOSRe.FindStringSubmatch(parts[0])
	if m == nil {
		return p, fmt.Errorf("%q is an invalid OS component of %q", parts[0], spec)
	}
	p.OS = normalizeOS(m[1])
	var err error
	if p.OSVersion, err = decodeOSOption(m[2]); err != nil {
		return p, fmt.Errorf("%q has an invalid OS version %q: %w", spec, m[2], err)
	}
	if m[3] != "" {
		if p.OSFeatures, err = parseOSFeatures(m[3][1:]); err != nil {
			return p, fmt.Errorf("%q has invalid OS features: %w", spec, err)
		}
	}
	for _, part := range parts[1:] {
		if !platformPartRe.MatchString(part) {
			return ocispecs.Platform{}, fmt.Errorf("%q is an invalid component of %q", part, spec)
		}
	}
	switch len(parts) {
	case 1:
		if isKnownOS(p.OS) {
			p.Architecture = hostPlatform().Architecture
			if p.Architecture == "arm" && hostPlatform().Variant != "v7" {
				p.Variant = hostPlatform().Variant
			}
			return p, nil
		}
		p.Architecture, p.Variant = normalizeArch(parts[0], "")
		if p.Architecture == "arm" && p.Variant == "v7" {
			p.Variant = ""
		}
		if isKnownArch(p.Architecture) {
			p.OS = daemonOS
			return p, nil
		}
		return ocispecs.Platform{}, fmt.Errorf("%q: unknown operating system or architecture", spec)
	case 2:
		p.Architecture, p.Variant = normalizeArch(parts[1], "")
		if p.Architecture == "arm" && p.Variant == "v7" {
			p.Variant = ""
		}
		return p, nil
	case 3:
		p.Architecture, p.Variant = normalizeArch(parts[1], parts[2])
		if p.Architecture == "arm64" && p.Variant == "" {
			p.Variant = "v8"
		}
		return p, nil
	}
	return ocispecs.Platform{}, fmt.Errorf("%q: cannot parse platform specifier", spec)
}

func parseOSFeatures(s string) ([]string, error) {
	var out []string
	for raw := range strings.SplitSeq(s, "+") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return nil, errors.New("empty os feature")
		}
		f, err := decodeOSOption(raw)
		if err != nil {
			return nil, fmt.Errorf("invalid os feature %q: %w", raw, err)
		}
		if f != "" {
			out = append(out, f)
		}
	}
	return out, nil
}

func decodeOSOption(v string) (string, error) {
	if strings.Contains(v, "%") {
		return url.PathUnescape(v)
	}
	return v, nil
}

var osOptionReplacer = strings.NewReplacer("%", "%25", "+", "%2B", "(", "%28", ")", "%29", "/", "%2F")

// formatPlatform is platforms.Format.
func formatPlatform(p ocispecs.Platform) string {
	if p.OS == "" {
		return "unknown"
	}
	return path.Join(p.OS, p.Architecture, p.Variant)
}

// formatPlatformAll is platforms.FormatAll.
func formatPlatformAll(p ocispecs.Platform) string {
	if p.OS == "" {
		return "unknown"
	}
	if p.OSVersion == "" && len(p.OSFeatures) == 0 {
		return path.Join(p.OS, p.Architecture, p.Variant)
	}
	os := p.OS
	osv := osOptionReplacer.Replace(p.OSVersion)
	feats := formatOSFeatures(p.OSFeatures)
	if osv != "" || feats != "" {
		os += "(" + osv
		if feats != "" {
			os += "+" + feats
		}
		os += ")"
	}
	return path.Join(os, p.Architecture, p.Variant)
}

func formatOSFeatures(features []string) string {
	features = slices.Clone(features)
	slices.Sort(features)
	var out []string
	for i, f := range features {
		if f == "" || (i > 0 && f == features[i-1]) {
			continue
		}
		out = append(out, osOptionReplacer.Replace(f))
	}
	return strings.Join(out, "+")
}

// normalizePlatform is platforms.Normalize.
func normalizePlatform(p ocispecs.Platform) ocispecs.Platform {
	p.OS = normalizeOS(p.OS)
	p.Architecture, p.Variant = normalizeArch(p.Architecture, p.Variant)
	if len(p.OSFeatures) > 0 {
		p.OSFeatures = slices.Compact(slices.Sorted(slices.Values(p.OSFeatures)))
	}
	return p
}

func normalizeOS(os string) string {
	if os == "" {
		return daemonOS
	}
	os = strings.ToLower(os)
	if os == "macos" {
		os = "darwin"
	}
	return os
}

func normalizeArch(arch, variant string) (string, string) {
	arch, variant = strings.ToLower(arch), strings.ToLower(variant)
	switch arch {
	case "i386":
		return "386", ""
	case "x86_64", "x86-64", "amd64":
		if variant == "v1" {
			variant = ""
		}
		return "amd64", variant
	case "aarch64", "arm64":
		switch variant {
		case "8", "v8", "v8.0":
			variant = ""
		case "9", "9.0", "v9.0":
			variant = "v9"
		}
		return "arm64", variant
	case "armhf":
		return "arm", "v7"
	case "armel":
		return "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
	}
	return arch, variant
}

func isKnownOS(os string) bool {
	switch os {
	case "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos":
		return true
	}
	return false
}

func isKnownArch(arch string) bool {
	switch arch {
	case "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64", "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm":
		return true
	}
	return false
}
