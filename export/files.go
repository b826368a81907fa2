package export

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/moby/sys/userns"
)

// FlatTar writes the merged files of the layer stack (top first) as one tar.
func FlatTar(ctx context.Context, sn snapshot.Snapshotter, lowers []string, w io.Writer) error {
	v, err := sn.View(ctx, lowers)
	if err != nil {
		return err
	}
	defer v.Release()
	return archive.WriteLayer(ctx, w, v.Root())
}

// Local writes the merged files of the layer stack into dir.
func Local(ctx context.Context, sn snapshot.Snapshotter, lowers []string, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	v, err := sn.View(ctx, lowers)
	if err != nil {
		return err
	}
	defer v.Release()
	var opts []archive.ApplyOption
	if userns.RunningInUserNS() {
		// rootless: the files are the user's, as a buildx local export
		// gives them, not owned by subordinate ids the user cannot manage
		opts = append(opts, archive.WithNoSameOwner())
	}
	return archive.CopyTree(ctx, v.Root(), abs, opts...)
}
