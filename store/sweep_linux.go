package store

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// SweepStale removes what kiln processes killed with SIGKILL leave outside
// the store (their temp dirs inside it are swept by Open):
//
//   - container cgroups, /sys/fs/cgroup/<controller>/kiln/kiln-* (and
//     /sys/fs/cgroup/kiln/kiln-* on cgroup v2), that no process is in, have
//     no child cgroup and are older than 5 s;
//   - libcontainer state dirs, $TMPDIR/kiln-run-* and /dev/shm/kiln-run-*
//     (runtime puts them there when the store is inside kiln's own
//     directory), owned by this user, not locked (flock) by a live process,
//     whose container's init process is gone, or that never got a
//     container's state.json and are older than 10 s.
//
// It is safe while other kiln processes run: a cgroup with a process in it
// or a state dir of a running container is never touched. Errors are
// ignored: sweeping is best effort. Open calls it.
func SweepStale() Stale {
	return sweepStale(sweepConfig{cgroupParent: "/kiln", cgroupGrace: cgroupGrace,
		stateDirs: []string{os.TempDir(), "/dev/shm"}, stateGrace: stateGrace})
}

func sweepStale(c sweepConfig) Stale {
	var out Stale
	for _, mp := range cgroupMounts() {
		out.Cgroups = append(out.Cgroups, sweepCgroups(filepath.Join(mp, c.cgroupParent), c.cgroupGrace)...)
	}
	seen := map[string]bool{}
	for _, d := range c.stateDirs {
		if r, err := filepath.EvalSymlinks(d); err == nil && !seen[r] {
			seen[r] = true
			out.StateDirs = append(out.StateDirs, sweepStateDirs(d, c.stateGrace)...)
		}
	}
	return out
}

// cgroupMounts lists the mount points of cgroup and cgroup2 filesystems.
func cgroupMounts() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint opts [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		for i, fl := range fields {
			if fl == "-" && i+1 < len(fields) && len(fields) > 4 {
				if fields[i+1] == "cgroup" || fields[i+1] == "cgroup2" {
					out = append(out, unescapeMountPath(fields[4]))
				}
				break
			}
		}
	}
	return out
}

// sweepCgroups removes the empty, childless kiln-* cgroups under parent
// older than grace.
func sweepCgroups(parent string, grace time.Duration) []string {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "kiln-") {
			continue
		}
		p := filepath.Join(parent, e.Name())
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < grace || !cgroupEmpty(p) {
			continue
		}
		if unix.Rmdir(p) == nil { // the kernel refuses a cgroup that has a process
			out = append(out, p)
		}
	}
	return out
}

// cgroupEmpty reports whether the cgroup dir p has no process and no child.
func cgroupEmpty(p string) bool {
	procs, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
	if err != nil || len(strings.TrimSpace(string(procs))) > 0 {
		return false
	}
	ents, err := os.ReadDir(p)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if e.IsDir() {
			return false
		}
	}
	return true
}

// sweepStateDirs removes the stale kiln-run-* dirs in dir.
func sweepStateDirs(dir string, grace time.Duration) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "kiln-run-") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if removeStateDir(p, grace) {
			out = append(out, p)
		}
	}
	return out
}

// removeStateDir removes the state dir p if no live kiln process owns it,
// holding its lock meanwhile.
func removeStateDir(p string, grace time.Duration) bool {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil || int(st.Uid) != os.Geteuid() {
		return false
	}
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return false // its owner holds it
	}
	started, live := containerStates(p)
	if live || (!started && time.Since(time.Unix(st.Mtim.Unix())) < grace) {
		return false
	}
	return removeAll(p) == nil
}

// containerStates reads the libcontainer state.json files in the state
// dir p: started is whether there is one, live whether the init process of
// one still runs.
func containerStates(p string) (started, live bool) {
	files, _ := filepath.Glob(filepath.Join(p, "*", "state.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var s struct {
			Pid   int    `json:"init_process_pid"`
			Start uint64 `json:"init_process_start"`
		}
		if json.Unmarshal(b, &s) != nil {
			continue
		}
		started = true
		if s.Pid > 0 && processStart(s.Pid) == s.Start {
			live = true
		}
	}
	return started, live
}

// processStart is the start time of process pid in clock ticks since boot
// (field 22 of /proc/pid/stat), or 0 if there is no such process.
func processStart(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces and parens
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 { // fields[0] is field 3 (state)
		return 0
	}
	n, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0
	}
	return n
}
