package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"runtime/debug"
	"strings"
	"time"
)

// SBOMOptions describe the image an SBOM is of.
type SBOMOptions struct {
	Name    string    // the image's name ("" → "image")
	Version string    // the image manifest's digest, when known
	PURL    string    // the image's package URL, when it has a name
	Created time.Time // the document's time: SOURCE_DATE_EPOCH when set, so that it is reproducible
}

// spdxDocument is an SPDX 2.3 document in its JSON form.
type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	Name                  string       `json:"name"`
	SPDXID                string       `json:"SPDXID"`
	VersionInfo           string       `json:"versionInfo,omitempty"`
	Supplier              string       `json:"supplier,omitempty"`
	DownloadLocation      string       `json:"downloadLocation"`
	FilesAnalyzed         bool         `json:"filesAnalyzed"`
	SourceInfo            string       `json:"sourceInfo,omitempty"`
	LicenseConcluded      string       `json:"licenseConcluded"`
	LicenseDeclared       string       `json:"licenseDeclared"`
	CopyrightText         string       `json:"copyrightText"`
	ExternalRefs          []spdxExtRef `json:"externalRefs,omitempty"`
	PrimaryPackagePurpose string       `json:"primaryPackagePurpose,omitempty"`
}

type spdxExtRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

const noAssertion = "NOASSERTION"

// SPDX writes pkgs as an SPDX 2.3 JSON document: a root package for the
// image, which the document DESCRIBES and which CONTAINS every package;
// a Go binary's main module DEPENDS_ON its modules and the standard
// library. IDs and the document namespace derive from the content, so the
// same packages at the same time give the same bytes.
func SPDX(pkgs []Package, o SBOMOptions) ([]byte, error) {
	name := o.Name
	if name == "" {
		name = "image"
	}
	root := spdxPackage{Name: name, SPDXID: "SPDXRef-DocumentRoot-Image-" + spdxIDPart(name), VersionInfo: o.Version,
		DownloadLocation: noAssertion, LicenseConcluded: noAssertion, LicenseDeclared: noAssertion,
		CopyrightText: noAssertion, PrimaryPackagePurpose: "CONTAINER"}
	if o.PURL != "" {
		root.ExternalRefs = []spdxExtRef{{"PACKAGE-MANAGER", "purl", o.PURL}}
	}
	doc := spdxDocument{SPDXVersion: "SPDX-2.3", DataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT", Name: name,
		CreationInfo:  spdxCreationInfo{Created: o.Created.UTC().Format(time.RFC3339), Creators: []string{"Tool: kiln-" + kilnVersion()}},
		Packages:      []spdxPackage{root},
		Relationships: []spdxRelationship{{"SPDXRef-DOCUMENT", "DESCRIBES", root.SPDXID}}}
	mains := map[string]string{} // a Go binary's main module package, by location
	for _, p := range pkgs {
		sp := spdxPackage{Name: p.Name, SPDXID: packageID(p), VersionInfo: p.Version, Supplier: supplier(p.Supplier),
			DownloadLocation: noAssertion, SourceInfo: spdxSourceInfo(p), LicenseConcluded: noAssertion,
			LicenseDeclared: license(p.License), CopyrightText: noAssertion,
			ExternalRefs: []spdxExtRef{{"PACKAGE-MANAGER", "purl", p.PURL}}}
		if p.Type == "golang" && p.Module == "" {
			sp.PrimaryPackagePurpose = "APPLICATION"
			mains[p.Location] = sp.SPDXID
		}
		doc.Packages = append(doc.Packages, sp)
		doc.Relationships = append(doc.Relationships, spdxRelationship{root.SPDXID, "CONTAINS", sp.SPDXID})
	}
	for i, p := range pkgs {
		if m := mains[p.Location]; p.Type == "golang" && p.Module != "" && m != "" {
			doc.Relationships = append(doc.Relationships, spdxRelationship{m, "DEPENDS_ON", doc.Packages[i+1].SPDXID})
		}
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	doc.DocumentNamespace = "https://github.com/kiln-build/kiln/spdx/" + spdxIDPart(name) + "-" + hex.EncodeToString(sum[:16])
	return json.Marshal(doc)
}

// packageID is a package's SPDX ID: its type and name, and a hash of its
// package URL and location, unique in the document.
func packageID(p Package) string {
	sum := sha256.Sum256([]byte(p.PURL + "\x00" + p.Location + "\x00" + p.Version))
	return "SPDXRef-Package-" + p.Type + "-" + spdxIDPart(p.Name) + "-" + hex.EncodeToString(sum[:8])
}

var notIDChars = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

func spdxIDPart(s string) string { return strings.Trim(notIDChars.ReplaceAllString(s, "-"), "-") }

func spdxSourceInfo(p Package) string {
	switch p.Type {
	case "deb":
		return "acquired package info from DPKG DB: " + p.Location
	case "apk":
		return "acquired package info from APK DB: " + p.Location
	case "golang":
		return "acquired package info from Go build info of the binary: " + p.Location
	}
	return ""
}

var personRE = regexp.MustCompile(`^\s*([^<]+?)\s*<([^>]+)>\s*$`)

// supplier turns "Name <mail>" into SPDX's "Person: Name (mail)".
func supplier(s string) string {
	if s == "" {
		return ""
	}
	if m := personRE.FindStringSubmatch(s); m != nil {
		return "Person: " + m[1] + " (" + m[2] + ")"
	}
	return "Person: " + s
}

var licenseRE = regexp.MustCompile(`^[A-Z][A-Za-z0-9.+-]*( (AND|OR|WITH) [A-Z][A-Za-z0-9.+-]*)*$`)

// license is an apk package's license when it looks like a plain SPDX
// expression of license IDs (which start with a capital: "custom" and
// "public-domain" are no IDs), else NOASSERTION.
func license(l string) string {
	if licenseRE.MatchString(l) {
		return l
	}
	return noAssertion
}

// kilnVersion is the version kiln was built as.
func kilnVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
