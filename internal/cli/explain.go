package cli

import (
	"fmt"
	"io"

	"github.com/kiln-build/kiln/explain"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/store"
	"github.com/spf13/cobra"
)

type explainFlags struct {
	last     bool
	format   string
	output   string
	top      int
	platform string
	skip     []string
}

func newExplainCmd(g *globals) *cobra.Command {
	var f explainFlags
	c := &cobra.Command{
		Use:   "explain [flags] IMAGE | --last",
		Short: "Show where every byte of an image came from, and what should not have reached it",
		Long: "explain attributes each layer of an image to the stage and instruction that made it (or to its base\n" +
			"image), shows how much of each stage reached the image, its largest paths, and the leak warnings:\n" +
			"toolchains, build caches, VCS dirs and secrets that crossed a stage boundary (docs/explain.md).",
		RunE: g.withStore(func(cmd *cobra.Command, st *store.Store, args []string) error {
			return runExplain(cmd, st, &f, args)
		}),
	}
	fl := c.Flags()
	fl.BoolVar(&f.last, "last", false, "explain the image the last build in this store made")
	fl.StringVar(&f.format, "format", "table", "output: table, json or html (one self-contained page with a treemap)")
	fl.StringVarP(&f.output, "output", "o", "", "write to this file (default stdout)")
	fl.IntVar(&f.top, "top", 0, "largest paths listed per layer (default 5)")
	fl.StringVar(&f.platform, "platform", "", "the platform of a multi-platform image to explain (default this machine's)")
	fl.StringArrayVar(&f.skip, "skip", nil, "leak rule to leave out (repeatable)")
	return c
}

func runExplain(cmd *cobra.Command, st *store.Store, f *explainFlags, args []string) error {
	var write func(*explain.Report, io.Writer) error
	switch f.format {
	case "table", "":
		write = (*explain.Report).WriteTable
	case "json":
		write = (*explain.Report).WriteJSON
	case "html":
		write = (*explain.Report).WriteHTML
	default:
		return fmt.Errorf("--format=%s: want table, json or html", f.format)
	}
	var opts []explain.Option
	if f.top > 0 {
		opts = append(opts, explain.WithTopPaths(f.top))
	}
	if f.platform != "" {
		opts = append(opts, explain.WithPlatform(f.platform))
	}
	if len(f.skip) > 0 {
		opts = append(opts, explain.WithSkipRules(f.skip...))
	}
	var rep *explain.Report
	var err error
	switch {
	case f.last && len(args) > 0:
		return fmt.Errorf("give an IMAGE or --last, not both")
	case f.last:
		desc, lerr := st.Last()
		if lerr != nil {
			return fmt.Errorf("--last: %w", lerr)
		}
		rep, err = explain.AnalyzeDigest(cmd.Context(), st, desc.Digest, opts...)
	case len(args) == 1:
		rep, err = explain.Analyze(cmd.Context(), st, args[0], opts...)
	default:
		return fmt.Errorf("give one IMAGE (a name, a digest or an image ID) or --last")
	}
	if err != nil {
		return err
	}
	if f.output == "" {
		return write(rep, cmd.OutOrStdout())
	}
	if err := export.ToFile(f.output, cmd.OutOrStdout(), func(w io.Writer) error { return write(rep, w) }); err != nil {
		return fmt.Errorf("-o %s: %w", f.output, err)
	}
	return nil
}
