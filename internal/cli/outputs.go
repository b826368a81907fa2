package cli

import (
	"fmt"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
	"github.com/spf13/cobra"
)

// writeOutputs exports the build result. Blobs are written first and names
// are set last, so a failure leaves nothing tagged.
func writeOutputs(cmd *cobra.Command, g *globals, st *store.Store, res *solver.Result, outs []export.Output,
	tags []string, comp export.Compression, prog *progress.Printer, quiet bool) error {
	ctx := cmd.Context()
	var desc v1.Descriptor
	committed := false
	for _, o := range outs {
		if !o.NeedsCommit() || committed {
			continue
		}
		step := prog.Start(fmt.Sprintf("exporting %d layers", len(res.Image.Layers)))
		wopts := rewriteOptions(res, outs)
		var err error
		desc, err = export.Commit(ctx, st, res.Image, comp, wopts...)
		if err == nil && len(wopts) == 0 { // rewritten blobs are not the cache's
			err = res.RecordExport()
		}
		step.Done(err)
		if err != nil {
			return err
		}
		committed = true
	}
	var toTag []string
	for _, o := range outs {
		names := tags
		if o.Name != "" {
			n, err := source.Normalize(o.Name)
			if err != nil {
				return fmt.Errorf("--output name=%s: %w", o.Name, err)
			}
			names = []string{n}
		}
		if err := writeOutput(cmd, g, st, res, o, desc, names, prog); err != nil {
			return err
		}
		if o.Type == "image" {
			toTag = append(toTag, names...)
		}
	}
	for _, n := range toTag {
		if err := st.Tag(n, desc); err != nil {
			return err
		}
		prog.Printf("naming to %s", n)
	}
	if committed {
		id := configDigest(st, desc)
		prog.Printf("image %s", id)
		if quiet {
			fmt.Fprintln(g.stdout, id)
		}
	}
	return nil
}

// rewriteOptions clamps layer mtimes to SOURCE_DATE_EPOCH when an output
// asks for rewrite-timestamp=true (without an epoch it changes nothing, as
// in buildx).
func rewriteOptions(res *solver.Result, outs []export.Output) []archive.WriteOption {
	epoch, ok := res.Epoch()
	for _, o := range outs {
		if o.RewriteTimestamp && ok {
			return []archive.WriteOption{archive.WithMtimeClamp(epoch)}
		}
	}
	return nil
}

func writeOutput(cmd *cobra.Command, g *globals, st *store.Store, res *solver.Result, o export.Output,
	desc v1.Descriptor, names []string, prog *progress.Printer) error {
	ctx := cmd.Context()
	switch o.Type {
	case "image", "registry":
		if !o.Push {
			return nil
		}
		if len(names) == 0 {
			return fmt.Errorf("--push: no image name (use -t or name=)")
		}
		step := prog.Start(fmt.Sprintf("pushing %v", names))
		err := export.Push(ctx, st, desc, names, nil)
		step.Done(err)
		return err
	case "local":
		step := prog.Start("copying files to " + o.Dest)
		lowers, err := res.Lowers(ctx)
		if err == nil {
			err = export.Local(ctx, res.TempDir(), lowers, o.Dest)
		}
		step.Done(err)
		return err
	}
	return writeArchive(g, "--output dest=", o.Dest, func(w io.Writer) error {
		switch o.Type {
		case "oci":
			return export.OCIArchive(st, desc, names, w)
		case "docker":
			return export.DockerArchive(st, desc, names, w)
		default:
			lowers, err := res.Lowers(ctx)
			if err != nil {
				return err
			}
			return export.FlatTar(ctx, res.TempDir(), lowers, w)
		}
	})
}

// writeArchive writes an archive output to dest (see export.ToFile).
func writeArchive(g *globals, flag, dest string, fn func(io.Writer) error) error {
	if err := export.ToFile(dest, g.stdout, fn); err != nil {
		return fmt.Errorf("%s%s: %w", flag, dest, err)
	}
	return nil
}

// configDigest is the image ID docker shows: the config's digest.
func configDigest(st *store.Store, desc v1.Descriptor) string {
	img, err := export.StoredImage(st, desc)
	if err != nil {
		return desc.Digest.String()
	}
	d, err := img.ConfigName()
	if err != nil {
		return desc.Digest.String()
	}
	return d.String()
}
