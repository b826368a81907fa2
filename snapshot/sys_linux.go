package snapshot

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/moby/sys/userns"
	"golang.org/x/sys/unix"

	"github.com/kiln-build/kiln/archive"
)

// canMountOverlay reports whether this process may mount overlayfs: as
// root, or as root of a user namespace on Linux 5.11 or later (overlay in
// a user namespace came with 5.11; before, rootless kiln copies with the
// native snapshotter instead).
func canMountOverlay() bool {
	if os.Geteuid() != 0 {
		return false
	}
	if !userns.RunningInUserNS() {
		return true
	}
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return false
	}
	var major, minor int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	return major > 5 || major == 5 && minor >= 11
}

// applyOverlay extracts an OCI layer tar into dir in overlay format.
func applyOverlay(ctx context.Context, dir string, r io.Reader) error {
	opts := []archive.ApplyOption{archive.WithOverlayWhiteouts()}
	if os.Geteuid() != 0 {
		opts = append(opts, archive.WithNoSameOwner())
	}
	_, err := archive.Apply(ctx, dir, r, opts...)
	return err
}
