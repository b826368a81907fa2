package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/store"
	"github.com/spf13/cobra"
)

func newImagesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "images",
		Short: "List the images in the store",
		Args:  cobra.NoArgs,
		RunE: g.readStore(func(cmd *cobra.Command) error {
			fmt.Fprintln(cmd.OutOrStdout(), imagesHeader)
			return nil
		}, func(cmd *cobra.Command, st *store.Store, _ []string) error {
			imgs, err := st.Images()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, strings.ReplaceAll(imagesHeader, "   ", "\t"))
			for _, im := range imgs {
				repo, tag := splitTag(store.Familiar(im.Name))
				id, size, plats := describeImage(st, im.Descriptor)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", repo, tag, id, progress.Size(size), plats)
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

// imagesHeader is the header of kiln images.
const imagesHeader = "REPOSITORY   TAG   IMAGE ID   SIZE   PLATFORMS"

// describeImage is an image's ID (config digest; an index's own digest),
// compressed size and platforms ("linux/amd64,linux/arm64" for an index).
func describeImage(st *store.Store, desc v1.Descriptor) (string, int64, string) {
	if desc.MediaType.IsIndex() {
		idx, err := st.ImageIndex(desc.Digest)
		if err != nil {
			return "-", 0, "?"
		}
		im, _ := idx.IndexManifest()
		var size int64
		var plats []string
		for _, m := range im.Manifests {
			if m.Platform == nil || m.Platform.OS == "unknown" {
				continue
			}
			plats = append(plats, platformString(m.Platform.OS, m.Platform.Architecture, m.Platform.Variant))
			if !st.HasBlob(m.Digest) {
				continue
			}
			_, n, _ := describeImage(st, m)
			size += n
		}
		return desc.Digest.Hex[:12], size, strings.Join(plats, ",")
	}
	img, err := st.Image(desc.Digest)
	if err != nil {
		return "-", 0, "?"
	}
	id, plat := "-", "?"
	if d, err := img.ConfigName(); err == nil {
		id = d.Hex[:12]
	}
	if cf, err := img.ConfigFile(); err == nil {
		plat = platformString(cf.OS, cf.Architecture, cf.Variant)
	}
	var size int64
	if m, err := img.Manifest(); err == nil {
		for _, l := range m.Layers {
			size += l.Size
		}
	}
	return id, size, plat
}

func platformString(os, arch, variant string) string {
	s := os + "/" + arch
	if variant != "" {
		s += "/" + variant
	}
	return s
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
			dst, err := store.Normalize(args[1])
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
				n, err := store.Normalize(a)
				if err != nil {
					return err
				}
				if err := st.Untag(n); err != nil {
					return fmt.Errorf("rm: no image %s in the store", a)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Untagged: %s\n", store.Familiar(n))
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
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := pruneOptions(keep, filters)
			if err != nil {
				return err
			}
			return g.withStore(func(cmd *cobra.Command, st *store.Store, _ []string) error {
				rep, err := solver.Prune(st, opts)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "removed %d snapshots and %d blobs, %s freed\n", rep.Snapshots, rep.Blobs, progress.Size(rep.Bytes))
				return nil
			})(cmd, args)
		},
	}
	c.Flags().StringVar(&keep, "keep-storage", "", "keep the most recently used cache up to this size (e.g. 10GB)")
	c.Flags().StringArrayVar(&filters, "filter", nil, "until=DURATION: remove only cache unused for that long (e.g. until=24h)")
	return c
}

func pruneOptions(keep string, filters []string) (solver.PruneOptions, error) {
	var o solver.PruneOptions
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
			u, err := solver.DiskUsage(st)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 3, ' ', 0)
			fmt.Fprintln(tw, "TYPE\tCOUNT\tSIZE")
			fmt.Fprintf(tw, "Images\t%d\t\n", u.Images)
			fmt.Fprintf(tw, "Blobs\t%d\t%s\n", u.Blobs, progress.Size(u.BlobBytes))
			fmt.Fprintf(tw, "Snapshots (layers and build cache)\t%d\t%s\n", u.Snapshots, progress.Size(u.SnapshotBytes))
			fmt.Fprintf(tw, "Cache mounts\t%d\t%s\n", u.Mounts, progress.Size(u.MountBytes))
			fmt.Fprintf(tw, "In progress\t\t%s\n", progress.Size(u.TempBytes))
			return tw.Flush()
		}),
	}
}
