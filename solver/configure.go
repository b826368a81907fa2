package solver

import (
	"fmt"
	"strings"

	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/image"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// Configure applies config-only Dockerfile instructions (ENV, CMD,
// ENTRYPOINT, WORKDIR, USER, LABEL, EXPOSE, VOLUME, STOPSIGNAL, SHELL,
// ONBUILD, HEALTHCHECK) to img, as `docker import --change` does: the config
// changes, no files and no history entries are added.
func Configure(img *image.Image, changes []string) error {
	if len(changes) == 0 {
		return nil
	}
	src := "FROM scratch\n" + strings.Join(changes, "\n")
	f, err := dockerfile.Parse("--change", strings.NewReader(src))
	if err != nil {
		return err
	}
	s := &stage{img: img, file: f.Name, env: append([]string(nil), img.Config.Config.Env...), lex: dockerfile.NewLex(f.EscapeToken)}
	hist := len(img.Config.History)
	for _, c := range f.Stages[0].Commands {
		if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			if err := ex.Expand(s.expandWord); err != nil {
				return fmt.Errorf("--change %q: %w", fmt.Sprint(c), err)
			}
		}
		switch c := c.(type) {
		case *instructions.WorkdirCommand:
			img.Config.Config.WorkingDir = c.Path
		case *instructions.RunCommand, *instructions.CopyCommand, *instructions.AddCommand, *instructions.ArgCommand:
			return fmt.Errorf("--change %q: only config instructions are allowed", fmt.Sprint(c))
		default:
			if err := s.runMetadata(c); err != nil {
				return fmt.Errorf("--change %q: %w", fmt.Sprint(c), err)
			}
		}
	}
	img.Config.History = img.Config.History[:hist]
	return nil
}
