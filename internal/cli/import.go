package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/source"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
)

func newImportCmd(g *globals) *cobra.Command {
	var changes []string
	c := &cobra.Command{
		Use:   "import ROOTFS.tar|DIR NAME",
		Short: "Create a one-layer image from a root filesystem tarball or directory",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			src, ref := args[0], args[1]
			n, err := source.Normalize(ref)
			if err != nil {
				return err
			}
			st, err := g.open()
			if err != nil {
				return err
			}
			defer st.Close()
			tmp, err := st.TempDir("import-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			dir, err := importDir(cmd, tmp, src)
			if err != nil {
				return err
			}
			img := source.Scratch()
			img.Config.Config.WorkingDir = ""
			now := time.Now().UTC()
			img.Config.History = []ocispec.History{{Created: &now, CreatedBy: "kiln import " + filepath.Base(src), Comment: "Imported from " + src}}
			if err := solver.Configure(img, changes); err != nil {
				return err
			}
			img.Layers = []image.Layer{{Dir: dir}}
			desc, err := export.Commit(ctx, st, img, export.Gzip)
			if err != nil {
				return err
			}
			if err := export.KeepSnapshots(st, img); err != nil {
				return err
			}
			if err := st.Tag(n, desc); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s as %s\n", src, source.Familiar(n))
			return nil
		},
	}
	c.Flags().StringArrayVarP(&changes, "change", "c", nil, "apply a Dockerfile config instruction (ENV, CMD, WORKDIR, …)")
	return c
}

// importDir returns a snapshot-format directory with the rootfs: the
// extracted tarball, or a copy of DIR.
func importDir(cmd *cobra.Command, tmp, src string) (string, error) {
	dir := filepath.Join(tmp, "fs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	fi, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	if fi.IsDir() {
		if err := export.CopyTree(cmd.Context(), src, dir); err != nil {
			return "", fmt.Errorf("import %s: %w", src, err)
		}
		return dir, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r, err := archive.Decompress(f)
	if err != nil {
		return "", fmt.Errorf("import %s: %w", src, err)
	}
	defer r.Close()
	if _, err := archive.Apply(cmd.Context(), dir, r, archive.WithOverlayWhiteouts()); err != nil {
		return "", fmt.Errorf("import %s: %w", src, err)
	}
	return dir, nil
}
