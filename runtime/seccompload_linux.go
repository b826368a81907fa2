package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// How a compiled seccomp filter gets into a libcontainer container (see
// seccompbpf_linux.go for why libcontainer cannot do it here):
//
// Run passes one end of a socket pair to the container init as its only
// extra file, fd 3. Init, in the init process, starts a loader thread
// before handing over to libcontainer. Once libcontainer has set up the
// container (Container.Start returns when the init is past its last
// privileged step and waits on the exec fifo), Run sends the program; the
// loader thread installs it with SECCOMP_FILTER_FLAG_TSYNC, which puts it
// on every thread of the init, including the one that is about to exec the
// process, and replies. Only then does Run let the init exec
// (Container.Exec). The socket is close-on-exec in the init, so the
// process never sees it.
//
// Without no_new_privs (as under BuildKit) installing a filter needs
// CAP_SYS_ADMIN. Capabilities are per thread: libcontainer drops them only
// on its own thread, and the loader thread keeps them across the switch to
// a non-root user with PR_SET_KEEPCAPS.

// seccompFd is the fd of the loader's socket in the init process.
const seccompFd = 3

// maxSeccompMessage is the largest program message: BPF_MAXINSNS
// instructions of 8 bytes and the flags.
const maxSeccompMessage = 8 + 4096*8

// seccompTimeout bounds the wait for the loader's reply.
const seccompTimeout = 30 * time.Second

// seccompSocket is Run's end of the loader's socket and the init's end,
// to pass as its extra file.
type seccompSocket struct {
	parent, child *os.File
}

func newSeccompSocket() (*seccompSocket, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("runtime: seccomp socket: %w", err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("runtime: seccomp socket: %w", err)
	}
	return &seccompSocket{parent: os.NewFile(uintptr(fds[0]), "seccomp"), child: os.NewFile(uintptr(fds[1]), "seccomp-init")}, nil
}

func (s *seccompSocket) Close() {
	s.parent.Close()
	s.child.Close()
}

// load sends prog to the container's loader and waits for it to be
// installed. The child end must be closed in this process by then, so that
// a dead init shows as EOF.
func (s *seccompSocket) load(ctx context.Context, prog *seccompProgram) error {
	msg := make([]byte, 8, 8+8*len(prog.filter))
	binary.NativeEndian.PutUint64(msg, uint64(prog.flags))
	for _, in := range prog.filter {
		msg = binary.NativeEndian.AppendUint16(msg, in.Code)
		msg = append(msg, in.Jt, in.Jf)
		msg = binary.NativeEndian.AppendUint32(msg, in.K)
	}
	deadline := time.Now().Add(seccompTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = s.parent.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = s.parent.SetDeadline(time.Now()) })
	defer stop()
	if _, err := s.parent.Write(msg); err != nil {
		return fmt.Errorf("runtime: sending seccomp filter: %w", err)
	}
	reply := make([]byte, 512)
	n, err := s.parent.Read(reply)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("runtime: loading seccomp filter: no reply from the container: %w", err)
	}
	if string(reply[:n]) != "ok" {
		return fmt.Errorf("runtime: loading seccomp filter: %s", reply[:n])
	}
	return nil
}

// startSeccompLoader starts the loader thread if Run passed the socket: in
// the init process, before libcontainer.Init. Run passes it as the only
// extra file, so libcontainer's own init pipe is then fd 4.
func startSeccompLoader() {
	if os.Getenv("_LIBCONTAINER_INITPIPE") != strconv.Itoa(seccompFd+1) || os.Getenv("_LIBCONTAINER_CONSOLE") != "" {
		return
	}
	if t, err := unix.GetsockoptInt(seccompFd, unix.SOL_SOCKET, unix.SO_TYPE); err != nil || t != unix.SOCK_SEQPACKET {
		return
	}
	unix.CloseOnExec(seccompFd)
	started := make(chan struct{})
	go func() {
		// Never unlocked: the thread ends with this goroutine, and with
		// it the capabilities it keeps.
		goruntime.LockOSThread()
		_ = unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0)
		close(started)
		reply := "ok"
		if err := receiveSeccomp(seccompFd); err != nil {
			reply = err.Error()
		}
		_, _ = unix.Write(seccompFd, []byte(reply))
	}()
	<-started
}

// receiveSeccomp reads the program from fd and installs it on every thread
// of this process.
func receiveSeccomp(fd int) error {
	buf := make([]byte, maxSeccompMessage)
	n, err := unix.Read(fd, buf)
	for errors.Is(err, unix.EINTR) {
		n, err = unix.Read(fd, buf)
	}
	switch {
	case err != nil:
		return fmt.Errorf("reading filter: %w", err)
	case n < 16 || (n-8)%8 != 0:
		return fmt.Errorf("reading filter: bad message of %d bytes", n)
	}
	flags := uint(binary.NativeEndian.Uint64(buf))
	prog := make([]unix.SockFilter, (n-8)/8)
	for i := range prog {
		b := buf[8+8*i:]
		prog[i] = unix.SockFilter{Code: binary.NativeEndian.Uint16(b), Jt: b[2], Jf: b[3], K: binary.NativeEndian.Uint32(b[4:])}
	}
	if err := raiseCapability(unix.CAP_SYS_ADMIN); err != nil {
		return err
	}
	err = setSeccompFilter(prog, flags|unix.SECCOMP_FILTER_FLAG_TSYNC)
	if errors.Is(err, unix.EINVAL) && flags&unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW != 0 {
		// Kernels before 4.17 do not know SPEC_ALLOW; runc drops it too.
		err = setSeccompFilter(prog, (flags&^unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW)|unix.SECCOMP_FILTER_FLAG_TSYNC)
	}
	return err
}

func setSeccompFilter(prog []unix.SockFilter, flags uint) error {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&fprog)))
	goruntime.KeepAlive(prog)
	if errno != 0 {
		return fmt.Errorf("seccomp(SET_MODE_FILTER): %w", errno)
	}
	if r != 0 {
		return fmt.Errorf("seccomp(SET_MODE_FILTER): thread %d could not be synchronised", r)
	}
	return nil
}

// raiseCapability makes capability c effective on this thread if it is
// permitted.
func raiseCapability(c int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	i, bit := c/32, uint32(1)<<(c%32)
	if data[i].Effective&bit != 0 {
		return nil
	}
	if data[i].Permitted&bit == 0 {
		return fmt.Errorf("loading the seccomp filter needs capability %d, which the container init does not have", c)
	}
	data[i].Effective |= bit
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
