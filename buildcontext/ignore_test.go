package buildcontext

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadIgnore(t *testing.T) {
	tests := []struct {
		name       string
		files      map[string]string // relative to a temp root; context is "ctx"
		dockerfile string            // relative to the temp root; "" = default
		want       []string
	}{
		{
			name: "none",
		},
		{
			name:  "context dockerignore",
			files: map[string]string{"ctx/.dockerignore": "# c\n/a\nb/\n!c\n"},
			want:  []string{"a", "b", "!c"},
		},
		{
			name: "dockerfile specific wins",
			files: map[string]string{
				"ctx/.dockerignore":                 "fromcontext",
				"build/app.Dockerfile":              "FROM scratch",
				"build/app.Dockerfile.dockerignore": "fromdockerfile",
			},
			dockerfile: "build/app.Dockerfile",
			want:       []string{"fromdockerfile"},
		},
		{
			name: "dockerfile specific missing falls back",
			files: map[string]string{
				"ctx/.dockerignore":    "fromcontext",
				"build/app.Dockerfile": "FROM scratch",
			},
			dockerfile: "build/app.Dockerfile",
			want:       []string{"fromcontext"},
		},
		{
			name: "default Dockerfile.dockerignore in context",
			files: map[string]string{
				"ctx/.dockerignore":           "fromcontext",
				"ctx/Dockerfile.dockerignore": "fromdockerfile",
			},
			want: []string{"fromdockerfile"},
		},
		{
			name:  "empty file",
			files: map[string]string{"ctx/.dockerignore": "# only a comment\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "ctx"), 0o755); err != nil {
				t.Fatal(err)
			}
			for p, content := range tt.files {
				writeFile(t, filepath.Join(root, p), content)
			}
			df := ""
			if tt.dockerfile != "" {
				df = filepath.Join(root, tt.dockerfile)
			}
			got, err := LoadIgnore(filepath.Join(root, "ctx"), df)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("LoadIgnore() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadIgnoreDirectory(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, ".dockerignore"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIgnore(root, ""); !errors.Is(err, ErrIgnoreFileIsDir) {
		t.Fatalf("err = %v, want ErrIgnoreFileIsDir", err)
	}
}

func TestParseIgnore(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{name: "bom", input: "\ufeffa\n", want: []string{"a"}},
		{name: "whitespace", input: "  a  \n\t!  b \n", want: []string{"a", "!b"}},
		{name: "clean", input: "a/../b\n./c/\n", want: []string{"b", "c"}},
		{name: "comment needs column one", input: " # x\n", want: []string{"# x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIgnore(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseIgnore() = %q, want %q", got, tt.want)
			}
		})
	}
}
