package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
	"github.com/spf13/cobra"
)

func newImagesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "images",
		Short: "List the images in the store",
		Args:  cobra.NoArgs,
		RunE: g.withStore(func(cmd *cobra.Command, st *store.Store, _ []string) error {
			imgs, err := st.Images()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tSIZE")
			for _, im := range imgs {
				repo, tag := splitTag(source.Familiar(im.Name))
				id, size := "-", int64(0)
				if img, err := export.StoredImage(st, im.Descriptor); err == nil {
					if d, err := img.ConfigName(); err == nil {
						id = d.Hex[:12]
					}
					if m, err := img.Manifest(); err == nil {
						for _, l := range m.Layers {
							size += l.Size
						}
					}
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", repo, tag, id, humanSize(size))
			}
			return tw.Flush()
		}),
	}
}

func splitTag(n string) (string, string) {
	if i := strings.LastIndex(n, "@"); i > 0 {
		return n[:i], n[i+1:]
	}
	if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
		return n[:i], n[i+1:]
	}
	return n, ""
}

func humanSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fGB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fMB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fkB", float64(n)/1e3)
	}
	return fmt.Sprintf("%dB", n)
}

func newTagCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE TARGET",
		Short: "Give an image in the store another name",
		Args:  cobra.ExactArgs(2),
		RunE: g.withStore(func(cmd *cobra.Command, st *store.Store, args []string) error {
			_, desc, err := lookupImage(st, args[0])
			if err != nil {
				return fmt.Errorf("tag: %w", err)
			}
			dst, err := source.Normalize(args[1])
			if err != nil {
				return err
			}
			return st.Tag(dst, desc)
		}),
	}
}

func newRmCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME...",
		Aliases: []string{"rmi"},
		Short:   "Remove image names from the store (kiln prune frees the space)",
		Args:    cobra.MinimumNArgs(1),
		RunE: g.withStore(func(cmd *cobra.Command, st *store.Store, args []string) error {
			for _, a := range args {
				n, err := source.Normalize(a)
				if err != nil {
					return err
				}
				if err := st.Untag(n); err != nil {
					return fmt.Errorf("rm: no image %s in the store", a)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Untagged: %s\n", source.Familiar(n))
			}
			return nil
		}),
	}
}

func newPushCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "push NAME [REF]",
		Short: "Push an image from the store to a registry (to REF if given)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: g.withStore(func(cmd *cobra.Command, st *store.Store, args []string) error {
			_, desc, err := lookupImage(st, args[0])
			if err != nil {
				return fmt.Errorf("push: %w", err)
			}
			ref := args[0]
			if len(args) == 2 {
				ref = args[1]
			}
			return export.Push(cmd.Context(), st, desc, []string{ref}, nil)
		}),
	}
}

func newPruneCmd(g *globals) *cobra.Command {
	var keep string
	var filters []string
	c := &cobra.Command{
		Use:   "prune",
		Short: "Remove cached snapshots and cache mounts, and blobs no image name refers to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := pruneOptions(keep, filters)
			if err != nil {
				return err
			}
			st, err := g.open()
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := st.Prune(opts)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d snapshots and %d blobs, %s freed\n", rep.Snapshots, rep.Blobs, humanSize(rep.Bytes))
			return nil
		},
	}
	c.Flags().StringVar(&keep, "keep-storage", "", "keep the most recently used cache up to this size (e.g. 10GB)")
	c.Flags().StringArrayVar(&filters, "filter", nil, "until=DURATION: remove only cache unused for that long (e.g. until=24h)")
	return c
}

func pruneOptions(keep string, filters []string) (store.PruneOptions, error) {
	var o store.PruneOptions
	if keep != "" {
		n, err := units.FromHumanSize(keep)
		if err != nil {
			return o, fmt.Errorf("--keep-storage=%s: %w", keep, err)
		}
		o.KeepBytes = n
	}
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		if k != "until" {
			return o, fmt.Errorf("--filter %s: only until=DURATION is supported", f)
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			return o, fmt.Errorf("--filter %s: %w", f, err)
		}
		o.Until = d
	}
	return o, nil
}

func newDuCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "du",
		Aliases: []string{"df"},
		Short:   "Show the store's disk use",
		Args:    cobra.NoArgs,
		RunE: g.withStore(func(cmd *cobra.Command, st *store.Store, _ []string) error {
			u, err := st.DiskUsage()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tCOUNT\tSIZE")
			fmt.Fprintf(tw, "Images\t%d\t\n", u.Images)
			fmt.Fprintf(tw, "Blobs\t%d\t%s\n", u.Blobs, humanSize(u.BlobBytes))
			fmt.Fprintf(tw, "Snapshots (layers and build cache)\t%d\t%s\n", u.Snapshots, humanSize(u.SnapshotBytes))
			fmt.Fprintf(tw, "Cache mounts\t%d\t%s\n", u.Mounts, humanSize(u.MountBytes))
			fmt.Fprintf(tw, "In progress\t\t%s\n", humanSize(u.TempBytes))
			return tw.Flush()
		}),
	}
}
