package buildcontext

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/moby/patternmatcher/ignorefile"
)

// ignoreSuffix names a Dockerfile-specific ignore file: <Dockerfile>.dockerignore.
const ignoreSuffix = ".dockerignore"

// maxIgnoreBytes bounds how much of an ignore file is read.
const maxIgnoreBytes = 10 << 20

// LoadIgnore reads <dockerfilePath>.dockerignore if it exists (it takes
// precedence, as in docker/BuildKit), else <contextDir>/.dockerignore, and
// returns its patterns (nil if there is no ignore file).
//
// An empty dockerfilePath means <contextDir>/Dockerfile. A relative
// dockerfilePath is taken as given (relative to the working directory), the
// way `docker build -f` does.
func LoadIgnore(contextDir, dockerfilePath string) ([]string, error) {
	if dockerfilePath == "" {
		dockerfilePath = filepath.Join(contextDir, "Dockerfile")
	}
	candidates := []string{
		dockerfilePath + ignoreSuffix,
		filepath.Join(contextDir, ignoreSuffix),
	}
	for _, p := range candidates {
		patterns, err := readIgnoreFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return patterns, nil
	}
	return nil, nil
}

// readIgnoreFile parses one ignore file; a missing file reports fs.ErrNotExist.
func readIgnoreFile(p string) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("reading %s: %w", p, ErrIgnoreFileIsDir)
	}
	patterns, err := ParseIgnore(io.LimitReader(f, maxIgnoreBytes))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	return patterns, nil
}

// ParseIgnore parses .dockerignore content: comments, blank lines, leading
// "/" and "!" exceptions are handled as docker does. It returns nil for an
// empty file.
func ParseIgnore(r io.Reader) ([]string, error) {
	patterns, err := ignorefile.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidIgnore, err)
	}
	return patterns, nil
}
