package archive

import (
	"context"
	"fmt"
	"io"
	"path"
	"strings"
)

const (
	whiteoutPrefix     = ".wh."
	whiteoutMetaPrefix = whiteoutPrefix + whiteoutPrefix
	whiteoutOpaque     = whiteoutMetaPrefix + ".opq"

	paxXattrPrefix = "SCHILY.xattr."
)

// cleanName turns a tar entry name into a clean slash-separated path
// relative to the destination ("." for the destination itself). Absolute
// names are taken as relative to the destination, as docker does; names
// that climb above it fail with ErrBreakout.
func cleanName(name string) (string, error) {
	c := path.Clean(strings.TrimLeft(name, "/"))
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("%w: %q", ErrBreakout, name)
	}
	return c, nil
}

// overlayXattr reports whether name is overlayfs bookkeeping that never
// belongs in a layer tar and must never be taken from one.
func overlayXattr(name string) bool {
	return strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.")
}

// ctxReader fails reads once its context is done, so long copies stop.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
