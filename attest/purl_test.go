package attest

import (
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestDockerPURL(t *testing.T) {
	const dig = "sha256:cc55f9c74e9401c7a5928b8421c977c5d3699467b42048ada4c8086f889cdf1d"
	amd64 := &v1.Platform{OS: "linux", Architecture: "amd64"}
	tests := []struct {
		ref      string
		platform *v1.Platform
		want     string
	}{
		// as BuildKit v0.34 wrote them in the attestations of a build here
		{"127.0.0.1:5000/kiln-conformance/busybox:latest", amd64, "pkg:docker/127.0.0.1:5000/kiln-conformance/busybox@latest?platform=linux%2Famd64"},
		{"example.com/test:1", amd64, "pkg:docker/example.com/test@1?platform=linux%2Famd64"},
		{"busybox", amd64, "pkg:docker/busybox@latest?platform=linux%2Famd64"},
		{"docker.io/library/golang:1.22", nil, "pkg:docker/golang@1.22"},
		{"docker.io/foo/bar:2", nil, "pkg:docker/foo/bar@2"},
		{"ghcr.io/org/app@" + dig, nil, "pkg:docker/ghcr.io/org/app?digest=sha256:cc55f9c74e9401c7a5928b8421c977c5d3699467b42048ada4c8086f889cdf1d"},
		{"alpine:3.20@" + dig, &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"},
			"pkg:docker/alpine@3.20?digest=sha256:cc55f9c74e9401c7a5928b8421c977c5d3699467b42048ada4c8086f889cdf1d&platform=linux%2Farm64"},
		{"alpine", &v1.Platform{OS: "linux", Architecture: "arm", Variant: "v7"}, "pkg:docker/alpine@latest?platform=linux%2Farm%2Fv7"},
	}
	for _, tt := range tests {
		got, err := DockerPURL(tt.ref, tt.platform)
		if err != nil {
			t.Fatalf("%s: %v", tt.ref, err)
		}
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.ref, got, tt.want)
		}
	}
	if _, err := DockerPURL("Not A Ref", nil); err == nil {
		t.Error("an invalid reference gave a purl")
	}
}

func TestPURLEscaping(t *testing.T) {
	got := purl("deb", "debian", "libstdc++6", "1:12.2.0-14+deb12u1", qualifier{"distro", "debian-12"}, qualifier{"arch", "amd64"},
		qualifier{"upstream", ""})
	want := "pkg:deb/debian/libstdc%2B%2B6@1:12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12"
	if got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got := purl("golang", "github.com/spf13", "cobra", "v1.8.0"); got != "pkg:golang/github.com/spf13/cobra@v1.8.0" {
		t.Errorf("golang purl %s", got)
	}
}
