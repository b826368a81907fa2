package attest

import (
	"encoding/json"
	"fmt"
	"sort"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// In-toto and predicate identifiers, as BuildKit writes them.
const (
	StatementV1    = "https://in-toto.io/Statement/v1"
	PayloadType    = "application/vnd.in-toto+json"
	PredicateSPDX  = "https://spdx.dev/Document"
	PredicateSLSA1 = "https://slsa.dev/provenance/v1"
)

// Statement is an in-toto statement: what its predicate says, about which
// subjects.
type Statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subject       []Subject       `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is what a statement is about: a name and its digests.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// NewStatement wraps predicate in a v1 statement about subjects.
func NewStatement(predicateType string, predicate any, subjects []Subject) (Statement, error) {
	raw, err := json.Marshal(predicate)
	if err != nil {
		return Statement{}, fmt.Errorf("attest: %s predicate: %w", predicateType, err)
	}
	if subjects == nil {
		subjects = []Subject{}
	}
	return Statement{Type: StatementV1, PredicateType: predicateType, Subject: subjects, Predicate: raw}, nil
}

// ImageSubjects are the subjects of an image's statements, as BuildKit
// makes them: for each of the image's names, its package URL with the
// platform (pkg:docker/example.com/app@1?platform=linux%2Famd64) and the
// image manifest's digest. An image without a name has no subject.
func ImageSubjects(names []string, platform *v1.Platform, manifest v1.Hash) ([]Subject, error) {
	out := []Subject{}
	for _, n := range names {
		p, err := DockerPURL(n, platform)
		if err != nil {
			return nil, err
		}
		out = append(out, Subject{Name: p, Digest: map[string]string{manifest.Algorithm: manifest.Hex}})
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
