package cli

import (
	"fmt"
	"io"

	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/store"
	"github.com/spf13/cobra"
)

func newSaveCmd(g *globals) *cobra.Command {
	var out, format string
	c := &cobra.Command{
		Use:   "save -o FILE NAME",
		Short: "Write an image from the store to a docker (default) or OCI archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "docker" && format != "oci" {
				return fmt.Errorf("--format=%s: want docker or oci", format)
			}
			return g.withStore(func(cmd *cobra.Command, st *store.Store, args []string) error {
				n, desc, err := lookupImage(st, args[0])
				if err != nil {
					return fmt.Errorf("save: %w", err)
				}
				err = export.ToFile(out, g.stdout, func(w io.Writer) error {
					if format == "oci" {
						return export.OCIArchive(st, desc, []string{n}, w)
					}
					return export.DockerArchive(st, desc, []string{n}, w)
				})
				if err != nil {
					return fmt.Errorf("save -o %s: %w", out, err)
				}
				return nil
			})(cmd, args)
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "-", "file to write (- = stdout)")
	c.Flags().StringVar(&format, "format", "docker", "archive format: docker or oci")
	return c
}

func newLoadCmd(g *globals) *cobra.Command {
	var in string
	c := &cobra.Command{
		Use:   "load [-i FILE]",
		Short: "Load images from a docker or OCI archive into the store",
		Args:  cobra.NoArgs,
		RunE: g.withStore(func(cmd *cobra.Command, st *store.Store, _ []string) error {
			var names []string
			var err error
			if in == "-" {
				names, err = st.LoadReader(cmd.Context(), g.stdin)
			} else {
				names, err = st.Load(cmd.Context(), in)
			}
			if err != nil {
				return fmt.Errorf("load %s: %w", in, err)
			}
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "Loaded image: %s\n", store.Familiar(n))
			}
			return nil
		}),
	}
	c.Flags().StringVarP(&in, "input", "i", "-", "archive to read (- = stdin)")
	return c
}

func newImportCmd(g *globals) *cobra.Command {
	var changes []string
	var platform string
	c := &cobra.Command{
		Use:   "import ROOTFS.tar|DIR NAME",
		Short: "Create a one-layer image from a root filesystem tarball or directory",
		Args:  cobra.ExactArgs(2),
		RunE: g.withStore(func(cmd *cobra.Command, st *store.Store, args []string) error {
			n, err := export.Import(cmd.Context(), st, args[0], args[1], changes, platform)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %s as %s\n", args[0], store.Familiar(n))
			return nil
		}),
	}
	c.Flags().StringArrayVarP(&changes, "change", "c", nil, "apply a Dockerfile config instruction (ENV, CMD, WORKDIR, …)")
	c.Flags().StringVar(&platform, "platform", "", "the image's platform os/arch[/variant] (default: this machine's)")
	return c
}
