package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/kiln-build/kiln/solver"
	"github.com/spf13/cobra"
)

// version is kiln's version: the module version it was built as, and the
// commit when the build recorded one.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (commit " + s.Value[:12] + ")"
		}
	}
	return v
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show kiln's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			goVersion := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
			}
			fmt.Fprintf(cmd.OutOrStdout(), "kiln %s\n%s, %s\n", version(), goVersion, solver.HostPlatform())
			return nil
		},
	}
}
