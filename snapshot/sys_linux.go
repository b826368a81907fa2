package snapshot

import (
	"context"
	"io"
	"os"

	"github.com/kiln-build/kiln/archive"
)

// canMountOverlay reports whether this process may mount overlayfs.
func canMountOverlay() bool { return os.Geteuid() == 0 }

// applyOverlay extracts an OCI layer tar into dir in overlay format.
func applyOverlay(ctx context.Context, dir string, r io.Reader) error {
	opts := []archive.ApplyOption{archive.WithOverlayWhiteouts()}
	if os.Geteuid() != 0 {
		opts = append(opts, archive.WithNoSameOwner())
	}
	_, err := archive.Apply(ctx, dir, r, opts...)
	return err
}
