package runtime

import "golang.org/x/sys/unix"

// maxNofile is the RLIMIT_NOFILE NewSpec gives containers: this process's
// hard limit (what docker gives, the daemon's), at most 1048576. Raising it
// beyond the current hard limit would need CAP_SYS_RESOURCE.
func maxNofile() uint64 {
	const ceiling = 1 << 20
	var r unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &r); err != nil || r.Max > ceiling {
		return ceiling
	}
	return r.Max
}
