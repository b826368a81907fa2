package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/store"
	"github.com/spf13/cobra"
)

// errCheckWarnings ends kiln build --check with exit code 1 when it found
// warnings, as buildx does, without a message of its own.
var errCheckWarnings = errors.New("check found warnings")

type globals struct {
	root   string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// withStore wraps a command body that needs the store open (and closed
// when it returns); the store is created if it does not exist.
func (g *globals) withStore(fn func(cmd *cobra.Command, st *store.Store, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		st, err := store.Open(g.root)
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(cmd, st, args)
	}
}

// readStore is withStore for commands that only read: without a store
// there is nothing to read, and none is created.
func (g *globals) readStore(empty func(cmd *cobra.Command) error, fn func(cmd *cobra.Command, st *store.Store, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if _, err := os.Stat(g.root); errors.Is(err, os.ErrNotExist) {
			return empty(cmd)
		}
		return g.withStore(fn)(cmd, args)
	}
}

// lookupImage finds a user's image reference in the store.
func lookupImage(st *store.Store, ref string) (string, v1.Descriptor, error) {
	n, err := store.Normalize(ref)
	if err != nil {
		return "", v1.Descriptor{}, err
	}
	desc, err := st.Lookup(n)
	if err != nil {
		return "", v1.Descriptor{}, fmt.Errorf("no image %s in the store", ref)
	}
	return n, desc, nil
}

// Execute runs the kiln command line and returns the process exit code.
func Execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	defer startProfiles(stderr)()
	root := &cobra.Command{
		Use:           "kiln",
		Short:         "kiln builds container images from Dockerfiles, without a daemon",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&g.root, "root", store.DefaultRoot(), "store directory")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(newBuildCmd(g), newImagesCmd(g), newTagCmd(g), newRmCmd(g), newPushCmd(g),
		newSaveCmd(g), newLoadCmd(g), newImportCmd(g), newPruneCmd(g), newDuCmd(g), newExplainCmd(g), newVersionCmd())
	if err := root.ExecuteContext(ctx); err != nil {
		if errors.Is(err, errCheckWarnings) {
			return 1 // the warnings are the output
		}
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "kiln: interrupted")
			return 130
		}
		fmt.Fprintln(stderr, "kiln: "+strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}
