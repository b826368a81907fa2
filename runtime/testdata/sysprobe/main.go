// Command sysprobe makes system calls that docker's default seccomp profile
// refuses (and a few it allows) and prints one line per call: its name and
// the errno it got, or "ok". The runtime tests run it in a container; it is
// static so that it runs in any rootfs, under kiln and under BuildKit alike.
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

type probe struct {
	name string
	call func() syscall.Errno
}

func raw(trap uintptr, a ...uintptr) syscall.Errno {
	var args [6]uintptr
	copy(args[:], a)
	_, _, e := unix.RawSyscall6(trap, args[0], args[1], args[2], args[3], args[4], args[5])
	return e
}

func str(s string) uintptr {
	p, _ := unix.BytePtrFromString(s)
	return uintptr(unsafe.Pointer(p))
}

var probes = []probe{
	{"unshare-user", func() syscall.Errno { return raw(unix.SYS_UNSHARE, unix.CLONE_NEWUSER) }},
	{"unshare-mount", func() syscall.Errno { return raw(unix.SYS_UNSHARE, unix.CLONE_NEWNS) }},
	{"mount", func() syscall.Errno { return raw(unix.SYS_MOUNT, str("none"), str("/nonexistent"), str("tmpfs"), 0, 0) }},
	{"umount2", func() syscall.Errno { return raw(unix.SYS_UMOUNT2, str("/nonexistent"), 0) }},
	{"keyctl", func() syscall.Errno {
		return raw(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffd) /* session */, 0)
	}},
	{"add_key", func() syscall.Errno {
		return raw(unix.SYS_ADD_KEY, str("user"), str("kiln"), str("x"), 1, uintptr(0xfffffffd))
	}},
	{"setns", func() syscall.Errno { return raw(unix.SYS_SETNS, 0, 0) }},
	{"sethostname", func() syscall.Errno {
		name, _ := os.Hostname() // unchanged if allowed
		return raw(unix.SYS_SETHOSTNAME, str(name), uintptr(len(name)))
	}},
	{"bpf", func() syscall.Errno { return raw(unix.SYS_BPF, 0, 0, 0) }},
	{"perf_event_open", func() syscall.Errno { return raw(unix.SYS_PERF_EVENT_OPEN, 0, 0, ^uintptr(0), ^uintptr(0), 0) }},
	{"userfaultfd", func() syscall.Errno { return raw(unix.SYS_USERFAULTFD, 0) }},
	{"io_uring_setup", func() syscall.Errno { return raw(unix.SYS_IO_URING_SETUP, 0, 0) }},
	{"clone3", func() syscall.Errno { return raw(unix.SYS_CLONE3, 0, 0) }},
	{"personality-addr-no-randomize", func() syscall.Errno { return raw(unix.SYS_PERSONALITY, 0x0040000 /* ADDR_NO_RANDOMIZE */) }},
	{"personality-query", func() syscall.Errno { return raw(unix.SYS_PERSONALITY, 0xffffffff) }},
	{"acct", func() syscall.Errno { return raw(unix.SYS_ACCT, 0) }},
	{"syslog", func() syscall.Errno { return raw(unix.SYS_SYSLOG, 3, 0, 0) }},
	{"fsopen", func() syscall.Errno { return raw(unix.SYS_FSOPEN, str("tmpfs"), 0) }},
	{"open_tree", func() syscall.Errno { return raw(unix.SYS_OPEN_TREE, ^uintptr(99), str("/"), 0) }},
	{"chroot", func() syscall.Errno { return raw(unix.SYS_CHROOT, str("/nonexistent")) }},
	{"cachestat", func() syscall.Errno { return raw(451, ^uintptr(0), 0, 0, 0) }},
	{"fchmodat2", func() syscall.Errno { return raw(452, ^uintptr(99), str("/nonexistent"), 0o644, 0) }},
	{"unknown-500", func() syscall.Errno { return raw(500) }},
	{"socket-inet", func() syscall.Errno {
		fd, _, e := unix.RawSyscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, 0)
		if e == 0 {
			unix.Close(int(fd))
		}
		return e
	}},
}

func main() {
	if os.Getpid() != 1 {
		// Some of these calls change the machine when they succeed.
		fmt.Fprintln(os.Stderr, "sysprobe: refusing to run outside a container (pid is not 1)")
		os.Exit(2)
	}
	for _, p := range probes {
		e := p.call()
		res := "ok"
		if e != 0 {
			res = unix.ErrnoName(e)
		}
		fmt.Fprintf(os.Stdout, "%s=%s\n", p.name, res)
	}
}
