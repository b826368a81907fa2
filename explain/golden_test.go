package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/sample.json")

// TestJSONGolden pins the JSON form of a report (the schema documented in
// docs/explain.md) on a fixed image: go test ./explain -run JSONGolden -update
// rewrites it after a deliberate change.
func TestJSONGolden(t *testing.T) {
	st := newStore(t)
	sampleImage(t).put(t, st)
	rep, err := Analyze(context.Background(), st, "sample:1", WithoutLayerCache())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/sample.json"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("JSON differs from %s (run with -update after a deliberate change):\n%s", golden, buf.String())
	}
}

// TestJSONFieldsDocumented checks that every field of the JSON form is
// in docs/explain.md.
func TestJSONFieldsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/explain.md")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/sample.json")
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	keys := make(map[string]bool)
	collectKeys(v, "", keys)
	var missing []string
	for k := range keys {
		if !regexp.MustCompile("`" + regexp.QuoteMeta(k) + "`").Match(doc) {
			missing = append(missing, k)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("docs/explain.md does not document %s", strings.Join(missing, ", "))
	}
}

// collectKeys gathers each field's path: "layers[].top_paths[].bytes".
func collectKeys(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out[prefix+k] = true
			collectKeys(e, prefix+k+".", out)
		}
	case []any:
		for _, e := range x {
			collectKeys(e, strings.TrimSuffix(prefix, ".")+"[].", out)
		}
	}
}
