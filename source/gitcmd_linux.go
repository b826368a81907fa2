package source

import (
	"context"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// runGit runs cmd as BuildKit's git source does: with umask 022, so file
// modes in the checkout (0644, 0755) do not depend on kiln's umask, in a
// session of its own, whose processes (git, git-remote-https, ssh, …) are all
// killed when ctx ends. A new session also means no controlling terminal:
// ssh cannot stop the build to ask for a passphrase.
func runGit(ctx context.Context, cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		// The umask is set on this thread only (unshare CLONE_FS), which is
		// never unlocked: it exits with the goroutine.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_FS); err == nil {
			unix.Umask(0o022)
		}
		errc <- runGroup(ctx, cmd)
	}()
	return <-errc
}

func runGroup(ctx context.Context, cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL) })
	defer stop()
	return cmd.Wait()
}
