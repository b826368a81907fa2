package attest

import (
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
)

// Spec says which attestations a build attaches: buildx's --attest,
// --sbom and --provenance values, parsed.
type Spec struct {
	SBOM       *SBOMSpec       // nil: no SBOM
	Provenance *ProvenanceSpec // nil: no provenance
	// Warnings are about attributes kiln accepts but does not act on
	// (an SBOM generator image: kiln catalogues the image itself).
	Warnings []string
}

// Any reports whether the spec asks for an attestation.
func (s Spec) Any() bool { return s.SBOM != nil || s.Provenance != nil }

// SBOMSpec is type=sbom.
type SBOMSpec struct {
	// Generator is the generator image given, if any. kiln does not run
	// generator images: its own cataloguer makes the SBOM.
	Generator string
}

// ProvenanceSpec is type=provenance.
type ProvenanceSpec struct {
	Mode         string // "min" or "max" (BuildKit's default)
	BuilderID    string // runDetails.builder.id
	Filename     string // the file in local and tar outputs (default provenance.json)
	Reproducible bool   // marks the provenance reproducible (buildkit_reproducible)
	InlineOnly   bool   // only for outputs that carry an image (not local, tar)
	// CompleteMaterials fails the build when the provenance cannot list
	// every material (as BuildKit's complete-materials=true).
	CompleteMaterials bool
}

// ParseFlags reads kiln build's attestation flags as buildx does: each
// --attest value is "type=sbom|provenance,KEY=VALUE,…"; --sbom and
// --provenance are shorthands for --attest=type=sbom,… and
// --attest=type=provenance,… and also take true or false. A later value
// of one type replaces an earlier one; disabled=true (or false given to a
// shorthand) turns the type off.
func ParseFlags(attests []string, sbom, provenance string) (Spec, error) {
	vals := append([]string(nil), attests...)
	if v := canonical("provenance", provenance); v != "" {
		vals = append(vals, v)
	}
	if v := canonical("sbom", sbom); v != "" {
		vals = append(vals, v)
	}
	byType := map[string]map[string]string{}
	var order []string
	for _, v := range vals {
		typ, attrs, err := parseAttest(v)
		if err != nil {
			return Spec{}, err
		}
		if _, seen := byType[typ]; !seen {
			order = append(order, typ)
		}
		byType[typ] = attrs
	}
	var s Spec
	for _, typ := range order {
		attrs := byType[typ]
		if off, _ := strconv.ParseBool(attrs["disabled"]); off {
			continue
		}
		delete(attrs, "disabled")
		var err error
		switch typ {
		case "sbom":
			s.SBOM, err = sbomSpec(attrs, &s.Warnings)
		case "provenance":
			s.Provenance, err = provenanceSpec(attrs, &s.Warnings)
		}
		if err != nil {
			return Spec{}, err
		}
	}
	return s, nil
}

// canonical turns a --sbom or --provenance value into an --attest value,
// as buildx's CanonicalizeAttest.
func canonical(typ, v string) string {
	if v == "" {
		return ""
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return fmt.Sprintf("type=%s,disabled=%t", typ, !b)
	}
	return "type=" + typ + "," + v
}

func parseAttest(v string) (string, map[string]string, error) {
	r := csv.NewReader(strings.NewReader(v))
	r.LazyQuotes = true
	fields, err := r.Read()
	if err != nil {
		return "", nil, fmt.Errorf("--attest %q: %w", v, err)
	}
	typ, attrs := "", map[string]string{}
	for _, f := range fields {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			return "", nil, fmt.Errorf("--attest %q: %q is not KEY=VALUE", v, f)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "type" {
			typ = val
			continue
		}
		attrs[k] = val
	}
	switch typ {
	case "sbom", "provenance":
		return typ, attrs, nil
	case "":
		return "", nil, fmt.Errorf("--attest %q: attestation type not specified (type=sbom or type=provenance)", v)
	}
	return "", nil, fmt.Errorf("--attest %q: unknown attestation type %q (want sbom or provenance)", v, typ)
}

func sbomSpec(attrs map[string]string, warnings *[]string) (*SBOMSpec, error) {
	s := &SBOMSpec{Generator: attrs["generator"]}
	if s.Generator != "" {
		*warnings = append(*warnings, "--sbom generator="+s.Generator+": kiln runs no generator image; "+
			"its built-in cataloguer (dpkg, apk, Go binaries) makes the SBOM")
	}
	delete(attrs, "generator")
	for _, k := range sortedKeys(attrs) {
		// BuildKit hands other attributes to the generator image
		// (BUILDKIT_SCAN_<KEY>): scan-context, scan-stage, …
		*warnings = append(*warnings, "--sbom "+k+"="+attrs[k]+": not supported by kiln's cataloguer, ignored")
	}
	return s, nil
}

func provenanceSpec(attrs map[string]string, warnings *[]string) (*ProvenanceSpec, error) {
	p := &ProvenanceSpec{Mode: "max", Filename: "provenance.json"}
	for _, k := range sortedKeys(attrs) {
		v := attrs[k]
		var err error
		switch k {
		case "mode":
			switch v {
			case "min", "max":
				p.Mode = v
			case "full":
				p.Mode = "max"
			default:
				return nil, fmt.Errorf("--provenance mode=%s: want min or max", v)
			}
		case "builder-id":
			p.BuilderID = v
		case "filename":
			if v == "" || strings.ContainsAny(v, "/\\") {
				return nil, fmt.Errorf("--provenance filename=%q: want a file name", v)
			}
			p.Filename = v
		case "reproducible":
			p.Reproducible, err = strconv.ParseBool(v)
		case "inline-only":
			p.InlineOnly, err = strconv.ParseBool(v)
		case "complete-materials":
			p.CompleteMaterials, err = strconv.ParseBool(v)
		case "version":
			if v != "v1" {
				return nil, fmt.Errorf("--provenance version=%s: kiln writes SLSA provenance v1 only", v)
			}
		default:
			*warnings = append(*warnings, "--provenance "+k+"="+v+": not supported, ignored")
		}
		if err != nil {
			return nil, fmt.Errorf("--provenance %s=%s: %w", k, v, err)
		}
	}
	return p, nil
}
