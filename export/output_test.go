package export_test

import (
	"strings"
	"testing"

	"github.com/kiln-build/kiln/export"
)

func TestParseOutput(t *testing.T) {
	for in, want := range map[string]export.Output{
		"type=image,push=true":                {Type: "image", Push: true},
		"type=image,push=false":               {Type: "image"},
		"type=registry":                       {Type: "registry", Push: true},
		"type=oci,dest=o.tar":                 {Type: "oci", Dest: "o.tar"},
		"type=image,rewrite-timestamp=false":  {Type: "image", KeepTimestamps: true},
		"type=image,rewrite-timestamp=true":   {Type: "image"},
		"out":                                 {Type: "local", Dest: "out"},
		"-":                                   {Type: "tar", Dest: "-"},
		"type=docker,name=x:1,compression=gz": {Type: "docker", Name: "x:1"},
	} {
		got, err := export.ParseOutput(in)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, msg := range map[string]string{
		"type=image,push=maybe":              "push=maybe: want true or false",
		"type=image,rewrite-timestamp=maybe": "rewrite-timestamp=maybe",
		"type=oci":                           "needs dest=",
		"type=bogus,dest=x":                  "unknown type",
		"type=image,color=red":               "unknown attribute",
		"":                                   "empty",
	} {
		if _, err := export.ParseOutput(in); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%q: %v, want an error with %q", in, err, msg)
		}
	}
}

func TestParseCompression(t *testing.T) {
	for _, ok := range []string{"gzip", "zstd", "uncompressed"} {
		if c, err := export.ParseCompression(ok); err != nil || string(c) != ok {
			t.Errorf("%s: %v %v", ok, c, err)
		}
	}
	for _, bad := range []string{"", "gz", "lz4"} {
		if _, err := export.ParseCompression(bad); err == nil || !strings.Contains(err.Error(), "--compression") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
