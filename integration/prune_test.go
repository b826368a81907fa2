package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPruneFiltersAndDu: du reports the cache; prune --filter until= and
// --keep-storage remove only old or excess snapshots; cached steps whose
// snapshot went run again.
func TestPruneFiltersAndDu(t *testing.T) {
	needSetup(t)
	root := t.TempDir()
	if r := kilnIn(t, root, nil, "import", bbRootfs(t), "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo a > /a\nRUN echo b > /b\n"})
	if r := kilnIn(t, root, nil, "build", "-t", "p:1", dir); r.code != 0 {
		t.Fatal(r.stderr)
	}
	du := kilnIn(t, root, nil, "du").stdout
	if !strings.Contains(du, "Snapshots") || !strings.Contains(du, "Blobs") {
		t.Fatalf("du:\n%s", du)
	}
	snaps := dirNames(t, filepath.Join(root, "snapshots"))
	if len(snaps) != 3 { // busybox + 2 RUNs
		t.Fatalf("snapshots: %v", snaps)
	}
	if r := kilnIn(t, root, nil, "prune", "--filter", "until=1h"); r.code != 0 || !strings.Contains(r.stdout, "removed 0 snapshots") {
		t.Fatalf("prune until=1h removed recent snapshots: %s %s", r.stdout, r.stderr)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, id := range snaps {
		os.Chtimes(filepath.Join(root, "snapshots", id), old, old)
	}
	// a cached rebuild marks what it used as recent again
	kilnIn(t, root, nil, "build", "-t", "p:1", dir)
	if r := kilnIn(t, root, nil, "prune", "--filter", "until=1h"); !strings.Contains(r.stdout, "removed 0 snapshots") {
		t.Errorf("snapshots used by the last build were pruned: %s", r.stdout)
	}
	if r := kilnIn(t, root, nil, "prune", "--keep-storage", "1B"); r.code != 0 || strings.Contains(r.stdout, "removed 0 snapshots") {
		t.Fatalf("prune --keep-storage=1B: %s %s", r.stdout, r.stderr)
	}
	r := kilnIn(t, root, nil, "build", "--progress=rawjson", "-t", "p:1", dir)
	if r.code != 0 || len(ranSteps(r.stderr)) != 2 {
		t.Errorf("after pruning the cache both RUNs should run again: %v\n%s", ranSteps(r.stderr), r.stderr)
	}
}
