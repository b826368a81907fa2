package attest

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

func samplePackages() []Package {
	return []Package{
		{Type: "deb", Name: "libc6", Version: "2.36-9", Arch: "amd64", Supplier: "GNU Libc Maintainers <debian-glibc@lists.debian.org>",
			Location: "/var/lib/dpkg/status", PURL: "pkg:deb/debian/libc6@2.36-9?arch=amd64"},
		{Type: "apk", Name: "musl", Version: "1.2.5-r0", License: "MIT", Location: "/lib/apk/db/installed", PURL: "pkg:apk/alpine/musl@1.2.5-r0"},
		{Type: "golang", Name: "example.com/app", Version: "(devel)", Location: "/app", PURL: "pkg:golang/example.com/app"},
		{Type: "golang", Name: "golang.org/x/sync", Version: "v0.10.0", Location: "/app", Module: "example.com/app", PURL: "pkg:golang/golang.org/x/sync@v0.10.0"},
		{Type: "golang", Name: "stdlib", Version: "go1.26.0", Location: "/app", Module: "example.com/app", PURL: "pkg:golang/stdlib@1.26.0"},
	}
}

func TestSPDXShape(t *testing.T) {
	created := time.Unix(1700000000, 0)
	raw, err := SPDX(samplePackages(), SBOMOptions{Name: "example.com/app:1", Version: "sha256:abc", PURL: "pkg:docker/example.com/app@1", Created: created})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SPDXVersion, DataLicense, SPDXID, Name, DocumentNamespace string
		CreationInfo                                              struct {
			Created  string
			Creators []string
		}
		Packages []struct {
			Name, SPDXID, VersionInfo, Supplier, DownloadLocation, LicenseDeclared, PrimaryPackagePurpose string
			FilesAnalyzed                                                                                 bool
			ExternalRefs                                                                                  []struct{ ReferenceType, ReferenceLocator string }
		}
		Relationships []struct{ SPDXElementID, RelationshipType, RelatedSPDXElement string }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.DataLicense != "CC0-1.0" || doc.SPDXID != "SPDXRef-DOCUMENT" || doc.Name != "example.com/app:1" {
		t.Errorf("header %+v", doc)
	}
	if doc.CreationInfo.Created != "2023-11-14T22:13:20Z" || len(doc.CreationInfo.Creators) != 1 ||
		!strings.HasPrefix(doc.CreationInfo.Creators[0], "Tool: kiln-") {
		t.Errorf("creation info %+v", doc.CreationInfo)
	}
	if !strings.HasPrefix(doc.DocumentNamespace, "https://github.com/kiln-build/kiln/spdx/example.com-app-1-") {
		t.Errorf("namespace %s", doc.DocumentNamespace)
	}
	if len(doc.Packages) != 6 || doc.Packages[0].PrimaryPackagePurpose != "CONTAINER" || doc.Packages[0].VersionInfo != "sha256:abc" {
		t.Fatalf("packages %+v", doc.Packages)
	}
	idRE := regexp.MustCompile(`^SPDXRef-[A-Za-z0-9.-]+$`)
	ids := map[string]string{}
	for _, p := range doc.Packages {
		if !idRE.MatchString(p.SPDXID) || ids[p.SPDXID] != "" {
			t.Errorf("SPDX ID %q invalid or repeated", p.SPDXID)
		}
		ids[p.SPDXID] = p.Name
		if p.DownloadLocation != "NOASSERTION" || p.FilesAnalyzed || len(p.ExternalRefs) != 1 || p.ExternalRefs[0].ReferenceType != "purl" {
			t.Errorf("package %+v", p)
		}
	}
	if p := doc.Packages[1]; p.Supplier != "Person: GNU Libc Maintainers (debian-glibc@lists.debian.org)" || p.LicenseDeclared != "NOASSERTION" {
		t.Errorf("deb package %+v", p)
	}
	if p := doc.Packages[2]; p.LicenseDeclared != "MIT" {
		t.Errorf("apk license %q", p.LicenseDeclared)
	}
	var rels []string
	for _, r := range doc.Relationships {
		rels = append(rels, ids[r.SPDXElementID]+" "+r.RelationshipType+" "+ids[r.RelatedSPDXElement])
	}
	want := []string{" DESCRIBES example.com/app:1", // the document has no package name
		"example.com/app:1 CONTAINS libc6", "example.com/app:1 CONTAINS musl", "example.com/app:1 CONTAINS example.com/app",
		"example.com/app:1 CONTAINS golang.org/x/sync", "example.com/app:1 CONTAINS stdlib",
		"example.com/app DEPENDS_ON golang.org/x/sync", "example.com/app DEPENDS_ON stdlib"}
	if strings.Join(rels, "\n") != strings.Join(want, "\n") {
		t.Errorf("relationships\n%s\nwant\n%s", strings.Join(rels, "\n"), strings.Join(want, "\n"))
	}

	again, _ := SPDX(samplePackages(), SBOMOptions{Name: "example.com/app:1", Version: "sha256:abc", PURL: "pkg:docker/example.com/app@1", Created: created})
	if string(again) != string(raw) {
		t.Error("the same packages at the same time gave other bytes")
	}
	other, _ := SPDX(samplePackages()[:2], SBOMOptions{Name: "example.com/app:1", Created: created})
	var od struct{ DocumentNamespace string }
	json.Unmarshal(other, &od)
	if od.DocumentNamespace == doc.DocumentNamespace {
		t.Error("two documents share a namespace")
	}
}

func TestSPDXEmpty(t *testing.T) {
	raw, err := SPDX(nil, SBOMOptions{Created: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	if !strings.Contains(s, `"name":"image"`) || !strings.Contains(s, `"created":"1970-01-01T00:00:00Z"`) || !strings.Contains(s, `"DESCRIBES"`) {
		t.Errorf("document %s", s)
	}
}

func TestLicense(t *testing.T) {
	for l, want := range map[string]string{"MIT": "MIT", "GPL-2.0-or-later": "GPL-2.0-or-later", "MPL-2.0 AND MIT": "MPL-2.0 AND MIT",
		"custom": "NOASSERTION", "custom:foo": "NOASSERTION", "": "NOASSERTION", "MIT and BSD": "NOASSERTION"} {
		if got := license(l); got != want {
			t.Errorf("license(%q) = %q, want %q", l, got, want)
		}
	}
}
