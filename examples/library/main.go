// Command library builds a Dockerfile with kiln's Go API, without the CLI:
//
//	go run ./examples/library CONTEXT NAME
//
// builds CONTEXT/Dockerfile into the store at $KILN_ROOT (default: kiln's
// default store) and names the image NAME, printing progress as it goes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/runtime"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/store"
)

func main() {
	runtime.Init() // RUN steps re-execute this binary as the container init
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: library CONTEXT NAME")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := build(ctx, os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func build(ctx context.Context, contextDir, name string) error {
	root := os.Getenv("KILN_ROOT")
	if root == "" {
		root = store.DefaultRoot()
	}
	st, err := store.Open(root)
	if err != nil {
		return err
	}
	defer st.Close()
	sink := progress.NewPlain(os.Stderr)
	res, err := solver.Build(ctx, st, contextDir, solver.WithProgress(sink),
		solver.WithBuildArgs(map[string]string{"VERSION": "1"}))
	if err != nil {
		return err
	}
	defer res.Close()
	rep, err := export.Write(ctx, st, res, []export.Output{{Type: "image"}}, export.WithTags(name), export.WithProgress(sink))
	if err != nil {
		return err
	}
	fmt.Println(rep.ImageID)
	return nil
}
