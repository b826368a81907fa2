package runtime

import (
	"os"
	goruntime "runtime"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter's C constructor joins the container's namespaces in the
	// re-executed "init" process before the Go runtime starts.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
	"golang.org/x/sys/unix"
)

// Init must be the first call in main() of every binary that uses
// NewLibcontainer, and in TestMain of tests that do. libcontainer re-executes
// the current binary as "<argv0> init" to set up each container; in that
// process Init runs libcontainer's container init and never returns. In any
// other process it returns at once.
//
// The container init is killed when the thread that started it exits (see
// Libcontainer.Run), so that killing kiln, even with SIGKILL, does not leave
// a build step running: the pid namespace dies with its init. libcontainer's
// own ParentDeathSignal does not reach this process, which runc's nsexec
// forks twice after exec. If kiln is already gone, the init fails on its next
// read from the pipes to it instead.
func Init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
		startSeccompLoader()
		libcontainer.Init() // never returns
	}
}

// init locks the main goroutine to the main thread for the life of the
// process, which keeps every other goroutine off that thread. libcontainer
// starts each container with a goroutine that locks its thread, joins the
// container's mount namespace and exits, so that the Go runtime kills the
// thread; the main thread cannot be killed and would instead stay parked in
// that namespace forever, pinning its mounts and making /proc/self show the
// container's mounts. Locking during package initialisation is the only way
// to keep the main goroutine on the main thread (see runtime.LockOSThread).
func init() {
	goruntime.LockOSThread()
}
