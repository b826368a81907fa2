package export

import (
	"fmt"
	"strconv"
	"strings"
)

// Output is one --output of kiln build, as buildx spells it.
type Output struct {
	Type string // image, oci, docker, tar, local, registry
	Dest string // file or dir; "-" = stdout for archives; docker without dest loads into the daemon
	Push bool
	Name string // name=… overrides the -t tags for this output
	// KeepTimestamps (rewrite-timestamp=false) keeps the build's file mtimes
	// as they are. By default, when SOURCE_DATE_EPOCH is set, kiln clamps
	// them to it, as BuildKit's rewrite-timestamp=true, so that two builds
	// of one commit give one digest.
	KeepTimestamps bool
}

// ParseOutput parses "type=oci,dest=out.tar", "type=image,push=true", or the
// shorthands "DIR" (local) and "-" (tar to stdout).
func ParseOutput(s string) (Output, error) {
	if s == "" {
		return Output{}, fmt.Errorf("--output: empty value")
	}
	if !strings.Contains(s, "=") {
		if s == "-" {
			return Output{Type: "tar", Dest: "-"}, nil
		}
		return Output{Type: "local", Dest: s}, nil
	}
	var o Output
	for _, field := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return o, fmt.Errorf("--output %q: %q is not key=value", s, field)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "type":
			o.Type = v
		case "dest":
			o.Dest = v
		case "push":
			b, err := parseBool(v)
			if err != nil {
				return o, fmt.Errorf("--output %q: push=%s: %w", s, v, err)
			}
			o.Push = b
		case "name":
			o.Name = v
		case "rewrite-timestamp":
			b, err := parseBool(v)
			if err != nil {
				return o, fmt.Errorf("--output %q: rewrite-timestamp=%s: %w", s, v, err)
			}
			o.KeepTimestamps = !b
		case "compression", "oci-mediatypes", "unpack", "store":
			// accepted as buildx does; kiln's defaults apply
		default:
			return o, fmt.Errorf("--output %q: unknown attribute %q", s, k)
		}
	}
	switch o.Type {
	case "image", "registry":
	case "docker":
		// no dest: load into the docker daemon (--load), as buildx
	case "oci", "tar":
		if o.Dest == "" {
			return o, fmt.Errorf("--output %q: type=%s needs dest=FILE (or dest=-)", s, o.Type)
		}
	case "local":
		if o.Dest == "" || o.Dest == "-" {
			return o, fmt.Errorf("--output %q: type=local needs dest=DIR", s)
		}
	case "":
		return o, fmt.Errorf("--output %q: missing type=", s)
	default:
		return o, fmt.Errorf("--output %q: unknown type %q (want image, registry, oci, docker, tar or local)", s, o.Type)
	}
	if o.Type == "registry" {
		o.Push = true
	}
	return o, nil
}

// NeedsCommit reports whether the output needs the image's layer blobs.
func (o Output) NeedsCommit() bool {
	return o.Type != "local" && o.Type != "tar"
}

// parseBool reads an output attribute's boolean as buildx does
// (strconv.ParseBool: true, false, 1, 0, t, f, …).
func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("want true or false")
	}
	return b, nil
}
