package attest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func sampleBuild() Build {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	layer := v1.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Size: 9,
		Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("1", 64)}}
	m, _ := ImageMaterial("busybox", &v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("2", 64)})
	return Build{
		Args:       map[string]string{"build-arg:V": "2", "label:team": "a", "target": "final"},
		ConfigPath: "Dockerfile", Secrets: []string{"token"}, SSH: []string{"default"}, Locals: []string{"context", "dockerfile"},
		Materials:       []Material{m},
		BuilderPlatform: "linux/amd64", TargetPlatform: "linux/amd64",
		VCS:     map[string]string{"revision": "abc", "source": "https://example.com/r.git"},
		Started: started, Finished: started.Add(time.Second),
		Dockerfile: []byte("FROM busybox\nRUN true\n"), DockerfileName: "Dockerfile",
		Steps: []Step{{ID: "step0", Stage: "stage-0", Instruction: "FROM busybox", Lines: [][2]int{{1, 1}}, Layers: []v1.Descriptor{layer}},
			{ID: "step1", Stage: "stage-0", Instruction: "RUN true", Lines: [][2]int{{2, 2}}, Inputs: []string{"step0"}}},
	}
}

// predicate renders Provenance's predicate as generic JSON.
func predicate(t *testing.T, b Build, spec ProvenanceSpec) map[string]any {
	t.Helper()
	raw, err := json.Marshal(Provenance(b, spec))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// get walks a path of keys in generic JSON.
func get(m any, path ...string) any {
	for _, k := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}

func TestProvenanceMax(t *testing.T) {
	p := predicate(t, sampleBuild(), ProvenanceSpec{Mode: "max", BuilderID: "https://ci.example/run/7"})
	if get(p, "buildDefinition", "buildType") != BuildType {
		t.Errorf("buildType %v", get(p, "buildDefinition", "buildType"))
	}
	deps := get(p, "buildDefinition", "resolvedDependencies").([]any)
	if len(deps) != 1 || get(deps[0], "uri") != "pkg:docker/busybox@latest?platform=linux%2Famd64" || get(deps[0], "digest", "sha256") != strings.Repeat("2", 64) {
		t.Errorf("resolvedDependencies %v", deps)
	}
	req := get(p, "buildDefinition", "externalParameters", "request")
	if get(req, "frontend") != "dockerfile.v0" || get(req, "args", "build-arg:V") != "2" || get(req, "args", "label:team") != "a" ||
		get(req, "args", "target") != "final" || len(get(req, "secrets").([]any)) != 1 || len(get(req, "locals").([]any)) != 2 {
		t.Errorf("request %v", req)
	}
	if get(p, "buildDefinition", "externalParameters", "configSource", "path") != "Dockerfile" {
		t.Errorf("configSource %v", get(p, "buildDefinition", "externalParameters", "configSource"))
	}
	internal := get(p, "buildDefinition", "internalParameters")
	if get(internal, "builderPlatform") != "linux/amd64" || len(get(internal, "buildConfig", "steps").([]any)) != 2 {
		t.Errorf("internalParameters %v", internal)
	}
	md := get(p, "runDetails", "metadata")
	if get(p, "runDetails", "builder", "id") != "https://ci.example/run/7" || get(md, "startedOn") != "2026-01-02T03:04:05Z" ||
		len(get(md, "invocationId").(string)) != 25 || get(md, "buildkit_metadata", "vcs", "revision") != "abc" {
		t.Errorf("runDetails %v", get(p, "runDetails"))
	}
	info := get(md, "buildkit_metadata", "source", "infos").([]any)[0]
	if data, _ := base64.StdEncoding.DecodeString(get(info, "data").(string)); string(data) != "FROM busybox\nRUN true\n" || get(info, "language") != "Dockerfile" {
		t.Errorf("source info %v", info)
	}
	if get(md, "buildkit_metadata", "source", "locations", "step1", "locations") == nil {
		t.Errorf("locations %v", get(md, "buildkit_metadata", "source", "locations"))
	}
	chain := get(md, "buildkit_metadata", "layers", "step0:0").([]any)[0].([]any)
	if len(chain) != 1 || get(chain[0], "digest") != "sha256:"+strings.Repeat("1", 64) {
		t.Errorf("layers %v", get(md, "buildkit_metadata", "layers"))
	}
	if get(md, "buildkit_completeness", "request") != true || get(md, "buildkit_completeness", "resolvedDependencies") != false {
		t.Errorf("completeness %v", get(md, "buildkit_completeness"))
	}
}

func TestProvenanceMin(t *testing.T) {
	p := predicate(t, sampleBuild(), ProvenanceSpec{Mode: "min"})
	req := get(p, "buildDefinition", "externalParameters", "request")
	args := get(req, "args").(map[string]any)
	if len(args) != 1 || args["target"] != "final" || get(req, "secrets") != nil || get(req, "ssh") != nil {
		t.Errorf("min request keeps %v", req)
	}
	md := get(p, "runDetails", "metadata")
	if get(md, "buildkit_completeness", "request") != false {
		t.Error("min mode left out build args but says the request is complete")
	}
	if get(p, "buildDefinition", "internalParameters", "buildConfig") != nil || get(md, "buildkit_metadata", "source") != nil ||
		get(md, "buildkit_metadata", "layers") != nil {
		t.Errorf("min mode has max's detail: %v", p)
	}
	if len(get(p, "buildDefinition", "resolvedDependencies").([]any)) != 1 || get(md, "buildkit_metadata", "vcs", "source") == nil {
		t.Error("min mode lost the materials or the VCS")
	}
}

func TestProvenanceReproducible(t *testing.T) {
	b := sampleBuild()
	epoch := time.Unix(0, 0)
	b.Epoch = &epoch
	one, _ := json.Marshal(Provenance(b, ProvenanceSpec{Mode: "max", Reproducible: true}))
	b.Started, b.Finished = b.Started.Add(time.Hour), b.Finished.Add(time.Hour)
	two, _ := json.Marshal(Provenance(b, ProvenanceSpec{Mode: "max", Reproducible: true}))
	if string(one) != string(two) {
		t.Error("with SOURCE_DATE_EPOCH two builds' provenances differ")
	}
	s := string(one)
	if strings.Contains(s, "invocationId") || strings.Contains(s, "startedOn") || !strings.Contains(s, `"buildkit_reproducible":true`) {
		t.Errorf("provenance %s", s)
	}
}
