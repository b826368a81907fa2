package integration

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestKubernetesManifests: the manifests in deploy/kubernetes parse, and
// every kiln container runs unprivileged as a non-root user with exactly
// the settings rootless kiln needs (see deploy/kubernetes/README.md).
func TestKubernetesManifests(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is missing")
	}
	files, _ := filepath.Glob("../deploy/kubernetes/*.yaml")
	if len(files) < 3 {
		t.Fatalf("manifests: %v", files)
	}
	for _, f := range files {
		out, err := exec.Command("python3", "-c", `import json, sys, yaml
print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))`, f).Output()
		if err != nil {
			t.Skipf("python3 yaml: %v", err)
		}
		var docs []map[string]any
		if err := json.Unmarshal(out, &docs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		jobs := 0
		for _, d := range docs {
			if d["kind"] != "Job" {
				continue
			}
			jobs++
			pod := dig(d, "spec", "template", "spec").(map[string]any)
			psc, _ := pod["securityContext"].(map[string]any)
			if psc["runAsNonRoot"] != true || dig(psc, "seccompProfile", "type") != "Unconfined" || pod["hostUsers"] != false {
				t.Errorf("%s: pod security context %v hostUsers %v", f, psc, pod["hostUsers"])
			}
			for _, c := range pod["containers"].([]any) {
				sc := c.(map[string]any)["securityContext"].(map[string]any)
				if sc["privileged"] == true || sc["procMount"] != "Unmasked" || sc["allowPrivilegeEscalation"] != true {
					t.Errorf("%s: container security context %v", f, sc)
				}
			}
		}
		if jobs == 0 {
			t.Errorf("%s: no Job", f)
		}
	}
}

func dig(m any, keys ...string) any {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}
