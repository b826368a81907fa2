package dockerfile

import (
	"runtime"
	"strings"
	"testing"
)

// The answers below are containerd/platforms' and distribution/reference's
// (the libraries BuildKit uses), which these ports were fuzzed against.

func TestParsePlatform(t *testing.T) {
	cases := []struct{ in, want string }{ // want: FormatAll(Normalize(p)), or "error"
		{"linux/amd64", "linux/amd64"},
		{"linux/arm64", "linux/arm64"},
		{"linux/arm64/v8", "linux/arm64"},
		{"linux/arm", "linux/arm/v7"},
		{"Linux/X86_64", "linux/amd64"},
		{"macos/arm64", "darwin/arm64"},
		{"armhf", "linux/arm/v7"},
		{"i386", "linux/386"},
		{"windows(10.0.17763+win32k)/amd64", "windows(10.0.17763+win32k)/amd64"},
		{"linux", "linux/" + runtime.GOARCH},
		{"foo", "error"},
		{"linux/*", "error"},
		{"linux/amd64/v2/x", "error"},
		{"", "error"},
	}
	for _, c := range cases {
		p, err := parsePlatform(c.in)
		got := "error"
		if err == nil {
			got = formatPlatformAll(normalizePlatform(p))
		}
		if got != c.want {
			t.Errorf("parsePlatform(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestValidateImageRef(t *testing.T) {
	hex := strings.Repeat("0123456789abcdef", 4)
	cases := []struct {
		in    string
		valid bool
	}{
		{"busybox", true},
		{"busybox:latest", true},
		{"127.0.0.1:5000/kiln-conformance/busybox:1.36", true},
		{"localhost/foo", true},
		{"foo@sha256:" + hex, true},
		{"[::1]:5000/foo", true},
		{"busybox:", false},
		{"Busybox", false},
		{"ex.com/UP/x", false},
		{hex, false},
		{"foo@sha256:abc", false},
		{"", false},
		{"-foo", false},
		{"x/" + strings.Repeat("a", 300), false},
	}
	for _, c := range cases {
		if err := validateImageRef(c.in); (err == nil) != c.valid {
			t.Errorf("validateImageRef(%q) = %v, want valid %v", c.in, err, c.valid)
		}
	}
}
