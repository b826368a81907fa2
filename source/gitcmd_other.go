//go:build !linux

package source

import (
	"context"
	"os/exec"
	"time"
)

// runGit runs cmd and kills it when ctx ends. Unlike on Linux, file modes in
// the checkout follow the process umask.
func runGit(ctx context.Context, cmd *exec.Cmd) error {
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Kill() })
	defer stop()
	return cmd.Wait()
}
