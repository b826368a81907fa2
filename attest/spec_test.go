package attest

import (
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name             string
		attests          []string
		sbom, provenance string
		wantSBOM         bool
		wantMode         string // "" = no provenance
		wantErr          string
		wantWarn         string
	}{
		{name: "none"},
		{name: "false shorthands", sbom: "false", provenance: "0"},
		{name: "sbom true", sbom: "true", wantSBOM: true},
		{name: "provenance true is max, as BuildKit", provenance: "true", wantMode: "max"},
		{name: "provenance mode=min", provenance: "mode=min", wantMode: "min"},
		{name: "provenance mode=full is max", provenance: "mode=full,builder-id=https://ci.example/1", wantMode: "max"},
		{name: "attest both", attests: []string{"type=sbom", "type=provenance,mode=max"}, wantSBOM: true, wantMode: "max"},
		{name: "shorthand after --attest wins", attests: []string{"type=provenance,mode=max"}, provenance: "false"},
		{name: "later --attest wins", attests: []string{"type=sbom,disabled=true", "type=sbom"}, wantSBOM: true},
		{name: "disabled", attests: []string{"type=provenance,disabled=true"}},
		{name: "generator warns", sbom: "generator=docker/buildkit-syft-scanner", wantSBOM: true, wantWarn: "no generator image"},
		{name: "scan-stage warns", attests: []string{"type=sbom,scan-stage=true"}, wantSBOM: true, wantWarn: "scan-stage=true"},
		{name: "quoted csv", attests: []string{`type=provenance,"builder-id=https://ci.example/run?a=1,b=2"`}, wantMode: "max"},
		{name: "unknown type", attests: []string{"type=vex"}, wantErr: "unknown attestation type"},
		{name: "no type", attests: []string{"mode=max"}, wantErr: "type not specified"},
		{name: "bad mode", provenance: "mode=most", wantErr: "want min or max"},
		{name: "slsa 0.2", provenance: "version=v0.2", wantErr: "v1 only"},
		{name: "not key=value", attests: []string{"type=sbom,oops"}, wantErr: "not KEY=VALUE"},
		{name: "bad bool", provenance: "inline-only=maybe", wantErr: "inline-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseFlags(tt.attests, tt.sbom, tt.provenance)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (s.SBOM != nil) != tt.wantSBOM {
				t.Errorf("SBOM %v, want %v", s.SBOM, tt.wantSBOM)
			}
			mode := ""
			if s.Provenance != nil {
				mode = s.Provenance.Mode
			}
			if mode != tt.wantMode {
				t.Errorf("provenance mode %q, want %q", mode, tt.wantMode)
			}
			if s.Any() != (tt.wantSBOM || tt.wantMode != "") {
				t.Errorf("Any() = %v", s.Any())
			}
			if w := strings.Join(s.Warnings, "\n"); tt.wantWarn != "" && !strings.Contains(w, tt.wantWarn) || tt.wantWarn == "" && w != "" {
				t.Errorf("warnings %q, want %q", w, tt.wantWarn)
			}
		})
	}
}

func TestParseFlagsProvenanceAttributes(t *testing.T) {
	s, err := ParseFlags(nil, "", `mode=min,builder-id=https://ci.example/run/1,filename=prov.json,reproducible=true,inline-only=true,complete-materials=false`)
	if err != nil {
		t.Fatal(err)
	}
	want := ProvenanceSpec{Mode: "min", BuilderID: "https://ci.example/run/1", Filename: "prov.json", Reproducible: true, InlineOnly: true}
	if *s.Provenance != want {
		t.Errorf("got %+v, want %+v", *s.Provenance, want)
	}
	if _, err := ParseFlags(nil, "", "filename=../x.json"); err == nil {
		t.Error("a filename with a directory was accepted")
	}
}
