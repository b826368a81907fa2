package plan

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Named build contexts (--build-context NAME=VALUE) replace what a
// Dockerfile names, as in BuildKit: a stage whose name is NAME is replaced
// as a whole (its instructions never run), and a FROM, COPY --from or RUN
// --mount from= naming NAME (an image reference, compared in its familiar
// form: "alpine", "alpine:latest" and "docker.io/library/alpine" are one
// name) uses the context instead. VALUE is a directory, docker-image://REF,
// oci-layout://PATH[:TAG|@DIGEST], or target:STAGE (another stage of this
// Dockerfile, as in buildx bake).

// ContextName is the name a reference is looked up by among named
// contexts: its familiar form without ":latest", as BuildKit.
func ContextName(ref string) string {
	r, err := name.ParseReference(ref, name.WithDefaultRegistry(""))
	if err != nil {
		return strings.ToLower(ref)
	}
	full := r.Context().RepositoryStr()
	if reg := r.Context().RegistryStr(); reg != "" && reg != name.DefaultRegistry && reg != "docker.io" {
		full = reg + "/" + full
	}
	full = strings.TrimPrefix(full, "library/")
	switch r := r.(type) {
	case name.Digest:
		return full + "@" + r.DigestStr()
	case name.Tag:
		if t := r.TagStr(); t != "latest" {
			return full + ":" + t
		}
	}
	return full
}

// checkContexts validates the --build-context values.
func checkContexts(ctxs map[string]string) error {
	for k, v := range ctxs {
		if k == "" || v == "" {
			return fmt.Errorf("--build-context %s=%s: want NAME=VALUE", k, v)
		}
	}
	return nil
}

// context looks ref up among the named contexts.
func (p *Plan) context(ref string) (string, bool) {
	if len(p.Contexts) == 0 || strings.EqualFold(ref, "scratch") || strings.EqualFold(ref, "context") {
		return "", false
	}
	v, ok := p.Contexts[ContextName(ref)]
	return v, ok
}

// alias resolves a context that names another stage (target:STAGE).
func (p *Plan) alias(ref string, byName map[string]*Stage) (*Stage, bool, error) {
	v, ok := p.context(ref)
	if !ok {
		return nil, false, nil
	}
	target, isTarget := strings.CutPrefix(v, "target:")
	if !isTarget {
		return nil, false, nil
	}
	s, ok := byName[strings.ToLower(target)]
	if !ok {
		return nil, true, fmt.Errorf("--build-context %s=%s: no stage %q in %s", ref, v, target, p.File.Name)
	}
	return s, true, nil
}
