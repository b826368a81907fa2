package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Import makes a one-layer image named ref from a root filesystem: a
// directory, or a tarball (plain or compressed), as `docker import`.
// changes are Dockerfile config instructions (ENV, CMD, WORKDIR, …) applied
// to its config. The layer's files are kept as a snapshot, so builds on
// the image do not extract it again. platform is the image's ("" = the
// host's). It returns the full name.
func Import(ctx context.Context, st *store.Store, src, ref string, changes []string, platform string) (string, error) {
	n, err := store.Normalize(ref)
	if err != nil {
		return "", err
	}
	plat, err := solver.ParsePlatform(platform)
	if err != nil {
		return "", fmt.Errorf("--platform: %w", err)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	sn, err := snapshot.Open(st, snapshot.Auto)
	if err != nil {
		return "", err
	}
	a, err := sn.Prepare(ctx, nil)
	if err != nil {
		return "", err
	}
	defer a.Release()
	if fi.IsDir() {
		err = archive.CopyTree(ctx, src, a.Root())
	} else {
		err = extractTarball(ctx, src, a.Root())
	}
	if err != nil {
		return "", fmt.Errorf("import %s: %w", src, err)
	}
	img := source.Scratch(plat)
	img.Config.Config.WorkingDir = ""
	now := time.Now().UTC()
	img.Config.History = []ocispec.History{{Created: &now, CreatedBy: "kiln import " + filepath.Base(src), Comment: "Imported from " + src}}
	if err := solver.Configure(img, changes); err != nil {
		return "", err
	}
	img.Layers = []image.Layer{{Dir: a.Root()}}
	desc, err := Commit(ctx, st, img, Gzip)
	if err != nil {
		return "", err
	}
	if err := a.Commit(ctx, snapshot.LayerID(img.Layers[0].DiffID)); err != nil {
		return "", err
	}
	if err := st.Tag(n, desc); err != nil {
		return "", err
	}
	return n, nil
}

func extractTarball(ctx context.Context, path, dir string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := archive.Decompress(f)
	if err != nil {
		return err
	}
	defer r.Close()
	var opts []archive.ApplyOption
	if os.Geteuid() != 0 {
		opts = append(opts, archive.WithNoSameOwner())
	}
	_, err = archive.Apply(ctx, dir, r, opts...)
	return err
}
