package buildcontext

import (
	"errors"
	"strings"
	"testing"
)

func TestExcluded(t *testing.T) {
	tests := []struct {
		name     string
		ignore   string
		excluded []string
		included []string
	}{
		{
			name:     "comments and blank lines",
			ignore:   "# a comment\n\n  \nsecret.txt\n#other.txt\n",
			excluded: []string{"secret.txt"},
			included: []string{"other.txt", "#other.txt", "a/secret.txt"},
		},
		{
			name:     "double star",
			ignore:   "**/*.go",
			excluded: []string{"a.go", "src/a.go", "src/deep/b.go"},
			included: []string{"a.txt", "src/a.go.txt"},
		},
		{
			name:     "exception",
			ignore:   "*.txt\n!keep.txt",
			excluded: []string{"a.txt", "b.txt"},
			included: []string{"keep.txt", "a.md", "dir/a.txt"},
		},
		{
			name:     "leading slash is ignored",
			ignore:   "/abs",
			excluded: []string{"abs", "/abs", "abs/child"},
			included: []string{"x/abs", "absent"},
		},
		{
			name:     "trailing slash dir",
			ignore:   "dir/",
			excluded: []string{"dir", "dir/x", "dir/x/y"},
			included: []string{"dir2", "other/dir"},
		},
		{
			name:     "one level wildcard",
			ignore:   "*/temp*",
			excluded: []string{"a/temp1", "a/temp", "b/temporary/x"},
			included: []string{"temp1", "a/b/temp", "a/xtemp"},
		},
		{
			name:     "parent excluded with re-included child",
			ignore:   "dir\n!dir/keep",
			excluded: []string{"dir", "dir/other", "dir/sub/x"},
			included: []string{"dir/keep", "dir/keep/inner", "top.txt"},
		},
		{
			name:     "later pattern wins",
			ignore:   "!a.txt\n*.txt",
			excluded: []string{"a.txt"},
		},
		{
			name:     "root is never excluded",
			ignore:   "*",
			excluded: []string{"a", "b/c"},
			included: []string{"", ".", "/"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patterns, err := ParseIgnore(strings.NewReader(tt.ignore))
			if err != nil {
				t.Fatal(err)
			}
			c, err := New(t.TempDir(), patterns)
			if err != nil {
				t.Fatal(err)
			}
			check := func(paths []string, want bool) {
				t.Helper()
				for _, p := range paths {
					got, err := c.Excluded(p)
					if err != nil {
						t.Fatalf("Excluded(%q): %v", p, err)
					}
					if got != want {
						t.Errorf("Excluded(%q) = %v, want %v (patterns %q)", p, got, want, patterns)
					}
				}
			}
			check(tt.excluded, true)
			check(tt.included, false)
		})
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		dir      string
		patterns []string
		wantErr  error
	}{
		{name: "no patterns", dir: dir},
		{name: "valid", dir: dir, patterns: []string{"a", "!b"}},
		{name: "bad pattern", dir: dir, patterns: []string{"["}, wantErr: ErrInvalidIgnore},
		{name: "bare exception", dir: dir, patterns: []string{"!"}, wantErr: ErrInvalidIgnore},
		{name: "missing dir", dir: dir + "/missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.dir, tt.patterns)
			if tt.name == "missing dir" {
				if err == nil {
					t.Fatal("want error for missing dir")
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && c.Dir() != tt.dir {
				t.Errorf("Dir() = %q, want %q", c.Dir(), tt.dir)
			}
		})
	}
}

func TestHasExceptions(t *testing.T) {
	tests := []struct {
		patterns []string
		want     bool
	}{
		{nil, false},
		{[]string{"a"}, false},
		{[]string{"a", "!a/b"}, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.patterns, ","), func(t *testing.T) {
			c, err := New(t.TempDir(), tt.patterns)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.HasExceptions(); got != tt.want {
				t.Errorf("HasExceptions() = %v, want %v", got, tt.want)
			}
		})
	}
}
