//go:build !linux

package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// WriteLayer is only implemented on Linux.
func WriteLayer(ctx context.Context, w io.Writer, dir string, opts ...WriteOption) error {
	return fmt.Errorf("archive: writing layers: %w", errors.ErrUnsupported)
}

// Apply is only implemented on Linux.
func Apply(ctx context.Context, dir string, r io.Reader, opts ...ApplyOption) (int64, error) {
	return 0, fmt.Errorf("archive: applying layers: %w", errors.ErrUnsupported)
}
