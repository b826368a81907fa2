package export

import (
	"fmt"
	"strings"
)

// Annotations are --annotation values by where they go, as buildx spells
// them: "manifest" (the image manifest, the default), "manifest-descriptor"
// (the manifest's descriptor in an index, such as an OCI archive's
// index.json), "index" and "index-descriptor" (multi-platform indexes).
type Annotations map[string]map[string]string

// ParseAnnotations parses --annotation values: [TYPE:]KEY=VALUE.
func ParseAnnotations(values []string) (Annotations, error) {
	out := Annotations{}
	for _, v := range values {
		kv, val, ok := strings.Cut(v, "=")
		if !ok || kv == "" {
			return nil, fmt.Errorf("--annotation %q: want [TYPE:]KEY=VALUE", v)
		}
		typ, key := "manifest", kv
		if t, k, ok := strings.Cut(kv, ":"); ok && knownAnnotationType(t) {
			typ, key = t, k
		}
		if strings.Contains(typ, "[") {
			return nil, fmt.Errorf("--annotation %q: per-platform annotations need a multi-platform build", v)
		}
		if key == "" {
			return nil, fmt.Errorf("--annotation %q: empty key", v)
		}
		if out[typ] == nil {
			out[typ] = map[string]string{}
		}
		out[typ][key] = val
	}
	return out, nil
}

func knownAnnotationType(t string) bool {
	base, _, _ := strings.Cut(t, "[")
	switch base {
	case "manifest", "manifest-descriptor", "index", "index-descriptor":
		return true
	}
	return false
}
