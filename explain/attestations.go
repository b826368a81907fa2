package explain

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/attest"
	"github.com/kiln-build/kiln/store"
)

// Attestation is a statement attached to the image (kiln build --sbom,
// --provenance, or BuildKit's): an SBOM, a provenance, or another kind.
type Attestation struct {
	Type          string `json:"type"`           // sbom, provenance, or the predicate type for others
	PredicateType string `json:"predicate_type"` // the in-toto predicate type
	Digest        string `json:"digest"`         // the statement's blob
	Size          int64  `json:"size"`
	Manifest      string `json:"manifest"`          // the attestation manifest holding it
	Summary       string `json:"summary,omitempty"` // what it says, in short
}

// attestationsOf lists the attestations the index holds for its image
// manifest image, read from the store.
func attestationsOf(st *store.Store, index, image v1.Hash) ([]Attestation, error) {
	all, err := attest.List(st, index)
	if err != nil {
		return nil, err
	}
	var out []Attestation
	for _, a := range all {
		if a.Subject != image {
			continue
		}
		x := Attestation{Type: attestationType(a.PredicateType), PredicateType: a.PredicateType, Digest: a.Digest.String(),
			Size: a.Size, Manifest: a.Manifest.String()}
		if s, err := attest.ReadStatement(st, a.Digest); err == nil {
			x.Summary = summarizeStatement(s)
		} else {
			x.Summary = "statement not in the store"
		}
		out = append(out, x)
	}
	return out, nil
}

func attestationType(predicateType string) string {
	switch {
	case predicateType == attest.PredicateSPDX || strings.HasPrefix(predicateType, "https://cyclonedx.org/"):
		return "sbom"
	case strings.HasPrefix(predicateType, "https://slsa.dev/provenance/"):
		return "provenance"
	}
	return predicateType
}

// summarizeStatement says in a few words what a statement holds: an SPDX SBOM's
// packages by kind, a provenance's mode and materials.
func summarizeStatement(s *attest.Statement) string {
	switch attestationType(s.PredicateType) {
	case "sbom":
		var doc struct {
			Packages []struct {
				Purpose string `json:"primaryPackagePurpose"`
				Refs    []struct {
					Type    string `json:"referenceType"`
					Locator string `json:"referenceLocator"`
				} `json:"externalRefs"`
			} `json:"packages"`
		}
		if json.Unmarshal(s.Predicate, &doc) != nil {
			return ""
		}
		kinds := map[string]int{}
		n := 0
		for _, p := range doc.Packages {
			if p.Purpose == "CONTAINER" {
				continue // the image itself
			}
			n++
			kind := "other"
			for _, r := range p.Refs {
				if r.Type == "purl" {
					kind, _, _ = strings.Cut(strings.TrimPrefix(r.Locator, "pkg:"), "/")
				}
			}
			kinds[kind]++
		}
		var parts []string
		for k, c := range kinds {
			parts = append(parts, fmt.Sprintf("%s %d", k, c))
		}
		sort.Strings(parts)
		if len(parts) == 0 {
			return "0 packages"
		}
		return fmt.Sprintf("%d packages: %s", n, strings.Join(parts, ", "))
	case "provenance":
		var p struct {
			BuildDefinition struct {
				Deps     []json.RawMessage `json:"resolvedDependencies"`
				Internal struct {
					BuildConfig json.RawMessage `json:"buildConfig"`
				} `json:"internalParameters"`
			} `json:"buildDefinition"`
		}
		if json.Unmarshal(s.Predicate, &p) != nil {
			return ""
		}
		mode := "min"
		if len(p.BuildDefinition.Internal.BuildConfig) > 0 {
			mode = "max"
		}
		deps := "dependencies"
		if len(p.BuildDefinition.Deps) == 1 {
			deps = "dependency"
		}
		return fmt.Sprintf("mode=%s, %d resolved %s", mode, len(p.BuildDefinition.Deps), deps)
	}
	return ""
}
