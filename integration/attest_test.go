package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/kiln-build/kiln/store"
)

// attestDockerfile makes an image with a dpkg database, a Go binary and
// an apk database a later step deletes (a whiteout the SBOM must honour).
const attestDockerfile = `FROM busybox AS build
ARG V=1
RUN mkdir -p /out && echo $V > /out/v
FROM busybox
COPY --from=build /out/v /v
COPY status /var/lib/dpkg/status
COPY os-release /etc/os-release
COPY installed /lib/apk/db/installed
COPY goapp /usr/local/bin/goapp
RUN rm /lib/apk/db/installed
`

// attestProject is a context for attestDockerfile, with a Go program
// built now.
func attestProject(t *testing.T) string {
	t.Helper()
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", "attest", "testdata", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dir := project(t, map[string]string{"Dockerfile": attestDockerfile, "status": read("status"), "installed": read("installed"),
		"os-release": "ID=debian\nVERSION_ID=\"12\"\n"})
	cmd := exec.Command(filepath.Join(goruntime.GOROOT(), "bin", "go"), "build", "-buildvcs=false", "-o", filepath.Join(dir, "goapp"),
		"../attest/testdata/goapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir
}

// TestAttestations: kiln build --sbom --provenance=mode=max --push -o
// type=oci attaches both attestations as BuildKit does — an index with the
// image and an attestation manifest (unknown/unknown, reference
// annotations, in-toto layers) — the same in the registry, the OCI
// archive and the store; kiln images, explain, save and FROM handle the
// attested image; the SBOM lists the dpkg and Go packages of the final
// image (not the apk database a later layer deleted); the provenance
// records the request, the base image and each step's layers.
func TestAttestations(t *testing.T) {
	needSetup(t)
	host := anyRegistry(t)
	ref := host + "/kiln/attest:1"
	dir := attestProject(t)
	out := t.TempDir()
	oci, meta := filepath.Join(out, "img.tar"), filepath.Join(out, "meta.json")
	mustKiln(t, "build", "--progress=plain", "-t", ref, "--build-arg", "V=2", "--label", "team=a", "--sbom=true",
		"--provenance=mode=max", "--push", "-o", "type=oci,dest="+oci, "--metadata-file", meta, dir)

	// the registry has the index
	r, _ := name.ParseReference(ref)
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 2 {
		t.Fatalf("index lists %d manifests", len(im.Manifests))
	}
	img, att := im.Manifests[0], im.Manifests[1]
	if img.Platform == nil || img.Platform.OS != "linux" || img.Platform.Architecture != goruntime.GOARCH ||
		att.Platform == nil || att.Platform.OS != "unknown" || att.Platform.Architecture != "unknown" ||
		att.Annotations["vnd.docker.reference.type"] != "attestation-manifest" ||
		att.Annotations["vnd.docker.reference.digest"] != img.Digest.String() {
		t.Fatalf("index %+v", im)
	}
	attImg, err := idx.Image(att.Digest)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := attImg.RawManifest()
	var am struct {
		ArtifactType string `json:"artifactType"`
		Config       v1.Descriptor
		Layers       []v1.Descriptor
		Subject      *v1.Descriptor
	}
	json.Unmarshal(raw, &am)
	if am.ArtifactType != "application/vnd.docker.attestation.manifest.v1+json" || am.Config.MediaType != "application/vnd.oci.empty.v1+json" ||
		am.Subject == nil || am.Subject.Digest != img.Digest || len(am.Layers) != 2 ||
		am.Layers[0].Annotations["in-toto.io/predicate-type"] != "https://spdx.dev/Document" ||
		am.Layers[1].Annotations["in-toto.io/predicate-type"] != "https://slsa.dev/provenance/v1" {
		t.Fatalf("attestation manifest %s", raw)
	}
	stmts := map[string]map[string]any{}
	for _, l := range am.Layers {
		layer, err := attImg.LayerByDigest(l.Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layer.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		var s map[string]any
		if err := json.NewDecoder(rc).Decode(&s); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		stmts[l.Annotations["in-toto.io/predicate-type"]] = s
	}
	checkSBOM(t, stmts["https://spdx.dev/Document"], ref, img.Digest)
	checkProvenance(t, stmts["https://slsa.dev/provenance/v1"])

	// the OCI archive and the store hold the same index
	lo := filepath.Join(out, "layout")
	os.MkdirAll(lo, 0o755)
	if err := exec.Command("tar", "-xf", oci, "-C", lo).Run(); err != nil {
		t.Fatal(err)
	}
	li, err := layout.ImageIndexFromPath(lo)
	if err != nil {
		t.Fatal(err)
	}
	lim, _ := li.IndexManifest()
	d, _ := idx.Digest()
	if len(lim.Manifests) != 1 || lim.Manifests[0].Digest != d || !lim.Manifests[0].MediaType.IsIndex() {
		t.Errorf("OCI archive's index.json %+v, want the index %s", lim.Manifests, d)
	}
	st, _ := store.Open(storeRoot)
	full, _ := store.Normalize(ref)
	desc, err := st.Lookup(full)
	st.Close()
	if err != nil || desc.Digest != d {
		t.Errorf("the store names %v (%v), want the index %s", desc.Digest, err, d)
	}
	var m map[string]any
	b, _ := os.ReadFile(meta)
	json.Unmarshal(b, &m)
	if m["containerimage.digest"] != d.String() {
		t.Errorf("metadata %v, want the index digest %s", m, d)
	}

	// kiln images, explain, save, FROM
	if r := mustKiln(t, "images"); !strings.Contains(r.stdout, "kiln/attest") || strings.Contains(r.stdout, "unknown") {
		t.Errorf("kiln images:\n%s", r.stdout)
	}
	r2 := mustKiln(t, "explain", ref)
	for _, want := range []string{"ATTESTATION", "sbom", "https://spdx.dev/Document", "packages: deb 3, golang 3", "provenance",
		"mode=max, 1 resolved dependency"} {
		if !strings.Contains(r2.stdout, want) {
			t.Errorf("kiln explain: no %q in\n%s", want, r2.stdout)
		}
	}
	var rep struct {
		Digest       string
		Attestations []struct{ Type string }
	}
	json.Unmarshal([]byte(mustKiln(t, "explain", "--format", "json", ref).stdout), &rep)
	if rep.Digest != img.Digest.String() || len(rep.Attestations) != 2 {
		t.Errorf("kiln explain --format json: %+v", rep)
	}
	mustKiln(t, "save", "-o", filepath.Join(out, "docker.tar"), ref)
	child := project(t, map[string]string{"Dockerfile": "FROM " + ref + "\nRUN cat /v > /w\n"})
	local := filepath.Join(out, "child")
	mustKiln(t, "build", "-o", local, child)
	if b, _ := os.ReadFile(filepath.Join(local, "w")); string(b) != "2\n" {
		t.Errorf("FROM the attested image: /w = %q", b)
	}
}

func checkSBOM(t *testing.T, s map[string]any, ref string, image v1.Hash) {
	t.Helper()
	subj := s["subject"].([]any)[0].(map[string]any)
	if !strings.HasPrefix(subj["name"].(string), "pkg:docker/") || subj["digest"].(map[string]any)["sha256"] != image.Hex {
		t.Errorf("SBOM subject %v", subj)
	}
	doc := s["predicate"].(map[string]any)
	if doc["spdxVersion"] != "SPDX-2.3" || doc["name"] != mustNormalize(t, ref) {
		t.Errorf("SBOM document %v %v", doc["spdxVersion"], doc["name"])
	}
	var purls []string
	for _, p := range doc["packages"].([]any) {
		for _, r := range p.(map[string]any)["externalRefs"].([]any) {
			purls = append(purls, r.(map[string]any)["referenceLocator"].(string))
		}
	}
	all := strings.Join(purls, "\n")
	for _, want := range []string{"pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc",
		"pkg:deb/debian/base-files@", "pkg:golang/github.com/kiln-build/kiln", "pkg:golang/golang.org/x/sync@v",
		"pkg:golang/stdlib@" + strings.TrimPrefix(goruntime.Version(), "go")} {
		if !strings.Contains(all, want) {
			t.Errorf("SBOM lacks %s:\n%s", want, all)
		}
	}
	if strings.Contains(all, "pkg:apk/") {
		t.Errorf("SBOM lists the apk database a later layer deleted:\n%s", all)
	}
}

func mustNormalize(t *testing.T, ref string) string {
	n, err := store.Normalize(ref)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func checkProvenance(t *testing.T, s map[string]any) {
	t.Helper()
	p := s["predicate"].(map[string]any)
	bd := p["buildDefinition"].(map[string]any)
	deps := bd["resolvedDependencies"].([]any)
	if len(deps) != 1 || !strings.HasPrefix(deps[0].(map[string]any)["uri"].(string), "pkg:docker/busybox@latest?platform=linux%2F") ||
		deps[0].(map[string]any)["digest"].(map[string]any)["sha256"] == nil {
		t.Errorf("resolvedDependencies %v", deps)
	}
	req := bd["externalParameters"].(map[string]any)["request"].(map[string]any)
	args := req["args"].(map[string]any)
	if req["frontend"] != "dockerfile.v0" || args["build-arg:V"] != "2" || args["label:team"] != "a" {
		t.Errorf("request %v", req)
	}
	steps := bd["internalParameters"].(map[string]any)["buildConfig"].(map[string]any)["steps"].([]any)
	if len(steps) != 10 {
		t.Errorf("%d steps, want 10: %v", len(steps), steps)
	}
	md := p["runDetails"].(map[string]any)["metadata"].(map[string]any)
	bk := md["buildkit_metadata"].(map[string]any)
	layers := bk["layers"].(map[string]any)
	// the target's FROM (the base layers) and its six layer-making steps
	if len(layers) != 7 {
		t.Errorf("layers of %d steps, want 7: %v", len(layers), layers)
	}
	if bk["source"].(map[string]any)["infos"] == nil || md["invocationId"] == nil || md["startedOn"] == nil {
		t.Errorf("metadata %v", md)
	}
}

// TestAttestationsOptional: without the flags an image is its manifest,
// as before; a wrong flag fails before the build; a local output with --sbom gets sbom.spdx.json beside the
// files; with SOURCE_DATE_EPOCH two fresh stores building two checkouts
// give one index digest with both attestations.
func TestAttestationsOptional(t *testing.T) {
	needSetup(t)
	dir := attestProject(t)
	mustKiln(t, "build", "-t", "plain-attest:1", dir)
	st, _ := store.Open(storeRoot)
	desc, err := st.Lookup("docker.io/library/plain-attest:1")
	st.Close()
	if err != nil || desc.MediaType.IsIndex() {
		t.Errorf("without attestation flags: %v (%v), want an image manifest", desc.MediaType, err)
	}

	// a mistake in the flags stops the build before it starts
	if r := kiln(t, "build", "--progress=plain", "--provenance=mode=most", dir); r.code == 0 ||
		!strings.Contains(r.stderr, "mode=most: want min or max") || strings.Contains(r.stderr, "RUN rm") {
		t.Errorf("--provenance=mode=most: exit %d\n%s", r.code, r.stderr)
	}

	local := filepath.Join(t.TempDir(), "rootfs")
	mustKiln(t, "build", "--sbom=true", "-o", "type=local,dest="+local, dir)
	var s struct {
		PredicateType string
		Subject       []struct{ Name string }
	}
	b, err := os.ReadFile(filepath.Join(local, "sbom.spdx.json"))
	if err != nil || json.Unmarshal(b, &s) != nil || s.PredicateType != "https://spdx.dev/Document" || len(s.Subject) < 3 ||
		!strings.Contains(string(b), "pkg:golang/stdlib@") {
		t.Errorf("local SBOM (%v): %.400s", err, b)
	}
	if _, err := os.Stat(filepath.Join(local, "provenance.json")); err == nil {
		t.Error("a provenance nobody asked for")
	}

	bb := saveBusybox(t)
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	var digests []string
	for range 2 {
		root := t.TempDir()
		if r := kilnIn(t, root, nil, "load", "-i", bb); r.code != 0 {
			t.Fatal(r.stderr)
		}
		meta := filepath.Join(t.TempDir(), "meta.json")
		if r := kilnIn(t, root, nil, "build", "--metadata-file", meta, "-t", "repro-attest:1", "--sbom=true",
			"--provenance=mode=max", attestProject(t)); r.code != 0 {
			t.Fatal(r.stderr)
		}
		var m map[string]any
		b, _ := os.ReadFile(meta)
		json.Unmarshal(b, &m)
		digests = append(digests, m["containerimage.digest"].(string))
	}
	if digests[0] != digests[1] {
		t.Errorf("SOURCE_DATE_EPOCH with attestations: two digests %v", digests)
	}
}
