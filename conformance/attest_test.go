//go:build conformance

package conformance

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// TestAttestationLayout builds one Dockerfile with BuildKit (--opt
// attest:sbom=generator=… with a stand-in scanner image, --opt
// attest:provenance=mode=max) and with kiln (--sbom --provenance=mode=max),
// both into OCI archives, and compares the attestations' structure: the
// index, the attestation manifest and its descriptor, the statements'
// subjects, and the provenance's fields and values where both can know
// them. Content (the SBOM's packages, the build's steps) is kiln's own.
func TestAttestationLayout(t *testing.T) {
	e := setup(t)
	w := filepath.Join(e.work, "attest")
	ctx := filepath.Join(w, "context")
	scan := filepath.Join(w, "scanner")
	for _, d := range []string{ctx, scan} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// a generator image following BuildKit's SBOM protocol: BuildKit's
	// own (docker/buildkit-syft-scanner) is on Docker Hub, out of reach here
	os.WriteFile(filepath.Join(scan, "scan.sh"), []byte(`#!/bin/sh
set -e
n=$(basename "$BUILDKIT_SCAN_SOURCE")
echo '{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document","subject":[],"predicate":{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"stand-in","creationInfo":{"created":"2020-01-01T00:00:00Z","creators":["Tool: stand-in"]}}}' > "$BUILDKIT_SCAN_DESTINATION/$n.spdx.json"
`), 0o755)
	os.WriteFile(filepath.Join(scan, "Dockerfile"), []byte("FROM "+e.registry+"/busybox:latest\nCOPY scan.sh /bin/scan.sh\nCMD [\"/bin/scan.sh\"]\n"), 0o644)
	scanner := e.registry + "/attest-scanner:1"
	if err := run(e.buildctl, []string{"--addr", e.buildkitAddr, "build", "--progress=plain", "--frontend", "dockerfile.v0",
		"--local", "context=" + scan, "--local", "dockerfile=" + scan,
		"--output", "type=image,name=" + scanner + ",push=true,registry.insecure=true"}, nil, filepath.Join(w, "scanner.log")); err != nil {
		t.Fatalf("building the stand-in scanner (harness problem): %v\n%s", err, tail(readLog(filepath.Join(w, "scanner.log")), 20))
	}

	df := fmt.Sprintf("FROM %[1]s/busybox:latest AS build\nARG V=1\nRUN echo $V > /v\nFROM %[1]s/busybox:latest\nCOPY --from=build /v /v\n", e.registry)
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(df), 0o644)
	const name = "example.com/attest:1"
	refTar, kilnTar := filepath.Join(w, "ref.tar"), filepath.Join(w, "kiln.tar")
	if err := run(e.buildctl, []string{"--addr", e.buildkitAddr, "build", "--progress=plain", "--frontend", "dockerfile.v0",
		"--local", "context=" + ctx, "--local", "dockerfile=" + ctx, "--opt", "filename=Dockerfile", "--opt", "build-arg:V=2",
		"--opt", "attest:sbom=generator=" + scanner, "--opt", "attest:provenance=mode=max",
		"--output", "type=oci,dest=" + refTar + ",name=" + name}, nil, filepath.Join(w, "ref.log")); err != nil {
		t.Fatalf("BuildKit: %v\n%s", err, tail(readLog(filepath.Join(w, "ref.log")), 30))
	}
	if err := run(e.kiln, []string{"--root", e.store, "build", "--build-arg", "V=2", "--sbom=true", "--provenance=mode=max",
		"-o", "type=oci,dest=" + kilnTar + ",name=" + name, ctx}, nil, filepath.Join(w, "kiln.log")); err != nil {
		t.Fatalf("kiln: %v\n%s", err, tail(readLog(filepath.Join(w, "kiln.log")), 30))
	}
	ref, kil := readAttested(t, refTar), readAttested(t, kilnTar)

	// the layout
	for _, c := range []struct {
		what      string
		ref, kiln any
	}{
		{"index media type", ref.index["mediaType"], kil.index["mediaType"]},
		{"index entries", len(ref.entries), len(kil.entries)},
		{"image entry platform", ref.entries[0]["platform"], kil.entries[0]["platform"]},
		{"attestation entry media type", ref.entries[1]["mediaType"], kil.entries[1]["mediaType"]},
		{"attestation entry platform", ref.entries[1]["platform"], kil.entries[1]["platform"]},
		{"attestation entry annotation keys", keysOf(ref.entries[1]["annotations"]), keysOf(kil.entries[1]["annotations"])},
		{"reference.type", at(ref.entries[1], "annotations", "vnd.docker.reference.type"), at(kil.entries[1], "annotations", "vnd.docker.reference.type")},
		{"reference.digest is the image's", at(ref.entries[1], "annotations", "vnd.docker.reference.digest") == ref.entries[0]["digest"],
			at(kil.entries[1], "annotations", "vnd.docker.reference.digest") == kil.entries[0]["digest"]},
		{"attestation manifest keys", keysOf(ref.manifest), keysOf(kil.manifest)},
		{"attestation manifest media type", ref.manifest["mediaType"], kil.manifest["mediaType"]},
		{"artifactType", ref.manifest["artifactType"], kil.manifest["artifactType"]},
		{"config", ref.manifest["config"], kil.manifest["config"]},
		{"subject is the image", at(ref.manifest, "subject", "digest") == ref.entries[0]["digest"], at(kil.manifest, "subject", "digest") == kil.entries[0]["digest"]},
		{"layer media types", ref.layerTypes, kil.layerTypes},
		{"predicate types in order", ref.predicates, kil.predicates},
		{"statement keys", keysOf(ref.stmts[0]), keysOf(kil.stmts[0])},
		{"statement _type", ref.stmts[0]["_type"], kil.stmts[0]["_type"]},
		{"subject names", subjectNames(ref.stmts[1]), subjectNames(kil.stmts[1])},
		{"empty config blob archived", ref.hasConfigBlob, kil.hasConfigBlob},
	} {
		if !reflect.DeepEqual(c.ref, c.kiln) {
			t.Errorf("%s: BuildKit %v, kiln %v", c.what, c.ref, c.kiln)
		}
	}

	// the provenance: the same fields, but for what each can know only
	rp, kp := ref.stmts[1]["predicate"], kil.stmts[1]["predicate"]
	onlyRef, onlyKiln := diffPaths(jsonPaths(rp, ""), jsonPaths(kp, ""))
	allowedRef := map[string]bool{ // BuildKit's LLB, its frontend's sub-request, its versions
		"buildDefinition.internalParameters.buildConfig.llbDefinition": true, "buildDefinition.internalParameters.buildConfig.digestMapping": true,
		"buildDefinition.externalParameters.request.root": true, "buildDefinition.externalParameters.request.compatibilityVersion": true,
		"buildDefinition.internalParameters.dockerfileVersion":               true,
		"runDetails.metadata.buildkit_metadata.source.infos[].llbDefinition": true, "runDetails.metadata.buildkit_metadata.source.infos[].digestMapping": true,
	}
	allowedKiln := map[string]bool{ // kiln's steps, its version
		"buildDefinition.internalParameters.buildConfig.steps": true, "runDetails.builder.version": true,
	}
	t.Logf("provenance fields only BuildKit writes: %s", strings.Join(roots(onlyRef), " "))
	t.Logf("provenance fields only kiln writes: %s", strings.Join(roots(onlyKiln), " "))
	for _, p := range onlyRef {
		if !allowedUnder(allowedRef, p) {
			t.Errorf("provenance: BuildKit has %s, kiln has not", p)
		}
	}
	for _, p := range onlyKiln {
		if !allowedUnder(allowedKiln, p) {
			t.Errorf("provenance: kiln has %s, BuildKit has not", p)
		}
	}
	// values both know
	refDeps := dropURI(at(rp, "buildDefinition", "resolvedDependencies"), scanner) // BuildKit ran the scanner image
	for _, c := range []struct {
		what      string
		ref, kiln any
	}{
		{"buildType", at(rp, "buildDefinition", "buildType"), at(kp, "buildDefinition", "buildType")},
		{"resolvedDependencies", refDeps, at(kp, "buildDefinition", "resolvedDependencies")},
		{"frontend", at(rp, "buildDefinition", "externalParameters", "request", "frontend"), at(kp, "buildDefinition", "externalParameters", "request", "frontend")},
		{"args", at(rp, "buildDefinition", "externalParameters", "request", "args"), at(kp, "buildDefinition", "externalParameters", "request", "args")},
		{"locals", at(rp, "buildDefinition", "externalParameters", "request", "locals"), at(kp, "buildDefinition", "externalParameters", "request", "locals")},
		{"configSource", at(rp, "buildDefinition", "externalParameters", "configSource"), at(kp, "buildDefinition", "externalParameters", "configSource")},
		{"builderPlatform", at(rp, "buildDefinition", "internalParameters", "builderPlatform"), at(kp, "buildDefinition", "internalParameters", "builderPlatform")},
		{"targetPlatform", at(rp, "buildDefinition", "internalParameters", "targetPlatform"), at(kp, "buildDefinition", "internalParameters", "targetPlatform")},
		{"builder.id", at(rp, "runDetails", "builder", "id"), at(kp, "runDetails", "builder", "id")},
		{"completeness", at(rp, "runDetails", "metadata", "buildkit_completeness"), at(kp, "runDetails", "metadata", "buildkit_completeness")},
		{"Dockerfile source", at(rp, "runDetails", "metadata", "buildkit_metadata", "source", "infos", "0", "data"),
			at(kp, "runDetails", "metadata", "buildkit_metadata", "source", "infos", "0", "data")},
	} {
		if !reflect.DeepEqual(c.ref, c.kiln) {
			t.Errorf("provenance %s: BuildKit %v, kiln %v", c.what, jsonString(c.ref), jsonString(c.kiln))
		}
	}
}

// attested is what an OCI archive of a one-platform attested image holds.
type attested struct {
	index         map[string]any
	entries       []map[string]any
	manifest      map[string]any
	layerTypes    []string
	predicates    []string
	stmts         []map[string]any
	hasConfigBlob bool
}

func readAttested(t *testing.T, p string) attested {
	t.Helper()
	files := map[string][]byte{}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[strings.TrimPrefix(h.Name, "./")] = b
	}
	blob := func(d any) map[string]any {
		s, _ := d.(string)
		var m map[string]any
		if err := json.Unmarshal(files["blobs/sha256/"+strings.TrimPrefix(s, "sha256:")], &m); err != nil {
			t.Fatalf("%s: blob %s: %v", p, s, err)
		}
		return m
	}
	var top map[string]any
	json.Unmarshal(files["index.json"], &top)
	var a attested
	a.index = blob(at(top, "manifests", "0", "digest"))
	for _, e := range a.index["manifests"].([]any) {
		a.entries = append(a.entries, e.(map[string]any))
	}
	if len(a.entries) != 2 {
		t.Fatalf("%s: the index lists %d manifests, want the image and its attestation manifest", p, len(a.entries))
	}
	a.manifest = blob(a.entries[1]["digest"])
	for _, l := range a.manifest["layers"].([]any) {
		a.layerTypes = append(a.layerTypes, at(l, "mediaType").(string))
		a.predicates = append(a.predicates, at(l, "annotations", "in-toto.io/predicate-type").(string))
		a.stmts = append(a.stmts, blob(at(l, "digest")))
	}
	_, a.hasConfigBlob = files["blobs/sha256/"+strings.TrimPrefix(at(a.manifest, "config", "digest").(string), "sha256:")]
	return a
}

// at walks keys (and array indexes) in generic JSON.
func at(v any, path ...string) any {
	for _, k := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func keysOf(v any) []string {
	m, _ := v.(map[string]any)
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func subjectNames(stmt map[string]any) []string {
	var out []string
	for _, s := range stmt["subject"].([]any) {
		out = append(out, at(s, "name").(string)+" "+strings.Join(keysOf(at(s, "digest")), ","))
	}
	return out
}

// jsonPaths lists the field paths of v; the keys of maps whose keys are
// data (args, digests, step IDs) are not paths.
func jsonPaths(v any, prefix string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := strings.TrimPrefix(prefix+"."+k, ".")
			out = append(out, p)
			switch k {
			case "args", "digest", "locations", "layers", "digestMapping", "vcs":
				continue
			}
			out = append(out, jsonPaths(e, p)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, jsonPaths(e, prefix+"[]")...)
		}
	}
	return out
}

func diffPaths(a, b []string) (onlyA, onlyB []string) {
	in := func(l []string) map[string]bool {
		m := map[string]bool{}
		for _, s := range l {
			m[s] = true
		}
		return m
	}
	return diffSets(in(a), in(b))
}

// diffSets lists, sorted, what only a holds and what only b holds.
func diffSets(a, b map[string]bool) (onlyA, onlyB []string) {
	for p := range a {
		if !b[p] {
			onlyA = append(onlyA, p)
		}
	}
	for p := range b {
		if !a[p] {
			onlyB = append(onlyB, p)
		}
	}
	sort.Strings(onlyA)
	sort.Strings(onlyB)
	return onlyA, onlyB
}

// roots leaves out the paths below another path of ps.
func roots(ps []string) []string {
	var out []string
	for _, p := range ps {
		if len(out) == 0 || !allowedUnder(map[string]bool{out[len(out)-1]: true}, p) {
			out = append(out, p)
		}
	}
	return out
}

// allowedUnder reports whether p is one of allowed or below one.
func allowedUnder(allowed map[string]bool, p string) bool {
	for a := range allowed {
		if p == a || strings.HasPrefix(p, a+".") || strings.HasPrefix(p, a+"[]") {
			return true
		}
	}
	return false
}

// dropURI removes the dependency on image (by its purl's name) from deps.
func dropURI(deps any, image string) any {
	l, _ := deps.([]any)
	repo := image[:strings.LastIndex(image, ":")]
	var out []any
	for _, d := range l {
		if !strings.HasPrefix(at(d, "uri").(string), "pkg:docker/"+repo+"@") {
			out = append(out, d)
		}
	}
	return out
}
