package buildcontext

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzIgnore feeds arbitrary .dockerignore content through the parser and
// the matcher: neither may panic, and every parsed pattern is clean.
func FuzzIgnore(f *testing.F) {
	for _, seed := range []string{
		"", "# comment\n", "**/*.go\n!keep.go\n", "/abs\ndir/\n*/temp*\n",
		"dir\n!dir/keep\n", "[\n", "!\n", "\ufeffa\r\nb\r\n", "a\\\n",
	} {
		f.Add([]byte(seed), "src/a.go")
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, rel string) {
		patterns, err := ParseIgnore(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range patterns {
			if p == "" {
				t.Fatalf("empty pattern from %q", data)
			}
			if strings.HasPrefix(strings.TrimPrefix(p, "!"), "/") && len(strings.TrimPrefix(p, "!")) > 1 {
				t.Fatalf("pattern %q keeps its leading slash", p)
			}
		}
		c, err := New(dir, patterns)
		if err != nil {
			return
		}
		_, _ = c.Excluded(rel)
	})
}
