// Command kiln builds container images from Dockerfiles, without a daemon.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kiln-build/kiln/internal/cli"
	"github.com/kiln-build/kiln/runtime"
)

func main() {
	runtime.Init()          // the container init re-exec: must come before anything else
	runtime.EnterRootless() // an ordinary user's kiln runs in a user namespace of its own
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
