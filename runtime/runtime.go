package runtime

import (
	"context"
	"errors"
	"io"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrNotFound is wrapped by the error Run returns when the process's
// executable does not exist in the container (for example /bin/sh in a
// scratch stage).
var ErrNotFound = errors.New("runtime: executable not found")

// ErrUnsupported is returned by the executors on platforms without Linux
// containers.
var ErrUnsupported = errors.New("runtime: containers are only supported on linux")

// Executor runs a container's process to completion.
//
// Lifecycle of one Run, for both implementations:
//
//	spec := NewSpec(Spec{Rootfs: merged, Process: p})  // caller mounted the overlay at merged
//	code, err := exec.Run(ctx, "step-42", spec, Stdio{Stdout: out, Stderr: out})
//	// err != nil: the container could not be started (errors.Is(err, ErrNotFound)
//	// for a missing executable) or ctx was cancelled (err == ctx.Err()).
//	// err == nil: the process ran; code is its exit status (0–255), or -n when
//	// signal n ended it. An exit status above 128 is just that: a shell
//	// reports a child's death by signal n as 128+n, and an external
//	// runtime binary (runc) reports its container's that way too.
//
// Run writes /etc/resolv.conf and /etc/hosts to files outside the rootfs
// and bind-mounts them read-only (unless spec already mounts those
// destinations). For a spec NewSpec made with NetworkDefault, Run creates
// the network namespace and runs slirp4netns for it until the container is
// gone. The spec's seccomp profile is applied by both executors
// (libcontainer's own seccomp support is not compiled in: Run loads the
// filter itself, see seccompload_linux.go). The runtime creates missing
// mount points (such as /proc, /dev or /etc/hosts on a scratch rootfs)
// inside the rootfs; Run removes the ones it created (empty files and dirs
// only) once the last container on that rootfs is gone, and sets back the
// atime and mtime of the directories that held them. When the rootfs is an
// overlay mount its upper dir then keeps only what the process wrote, plus
// copied-up directories (such as /etc when the image has no /etc/hosts)
// whose contents and times equal the lower ones.
// When Run returns, the container's state directory, cgroups and mounts are
// gone.
type Executor interface {
	// Run runs spec's process to completion; returns its exit status, or -n
	// if signal n killed it. ctx cancellation kills the container (SIGKILL) and cleans up
	// all state, returning ctx.Err().
	Run(ctx context.Context, id string, spec *specs.Spec, stdio Stdio) (exitCode int, err error)
}

// Stdio is the process's standard streams. A nil Stdin reads /dev/null; nil
// Stdout or Stderr discard. Run returns only after everything the process
// wrote has been copied to Stdout and Stderr.
type Stdio struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// notFoundError is the error for a missing executable.
type notFoundError struct{ path, reason string }

func (e *notFoundError) Error() string {
	return "runtime: exec " + e.path + ": " + e.reason
}

func (e *notFoundError) Is(target error) bool { return target == ErrNotFound }
