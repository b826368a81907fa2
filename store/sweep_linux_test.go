package store

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSweepStateDirs: kiln-run-* dirs whose container's init is gone, or
// that never got a state.json and are old, are removed; those of a live
// init, locked ones, young ones and other names stay.
func TestSweepStateDirs(t *testing.T) {
	tmp := t.TempDir()
	live := exec.Command("sleep", "60")
	must(t, live.Start())
	t.Cleanup(func() { live.Process.Kill(); live.Wait() })
	dead := exec.Command("true")
	must(t, dead.Run())
	state := func(dir string, pid int, start uint64) {
		must(t, os.MkdirAll(filepath.Join(tmp, dir, "kiln-abc"), 0o700))
		b, _ := json.Marshal(map[string]any{"id": "kiln-abc", "init_process_pid": pid, "init_process_start": start})
		must(t, os.WriteFile(filepath.Join(tmp, dir, "kiln-abc", "state.json"), b, 0o600))
	}
	old := time.Now().Add(-time.Hour)
	state("kiln-run-live", live.Process.Pid, processStart(live.Process.Pid))
	state("kiln-run-dead", dead.Process.Pid, 12345)
	state("kiln-run-reused", live.Process.Pid, processStart(live.Process.Pid)+1) // pid reused by another process
	for _, d := range []string{"kiln-run-young", "kiln-run-old", "kiln-run-locked", "other-old"} {
		must(t, os.Mkdir(filepath.Join(tmp, d), 0o700))
	}
	for _, d := range []string{"kiln-run-old", "kiln-run-locked", "other-old"} {
		must(t, os.Chtimes(filepath.Join(tmp, d), old, old))
	}
	lock, err := os.Open(filepath.Join(tmp, "kiln-run-locked"))
	must(t, err)
	defer lock.Close()
	must(t, flockEx(lock))
	got := sweepStale(sweepConfig{cgroupParent: "/kiln-sweep-test-none", stateDirs: []string{tmp}, stateGrace: time.Minute})
	removed := map[string]bool{}
	for _, p := range got.StateDirs {
		removed[filepath.Base(p)] = true
	}
	for name, want := range map[string]bool{"kiln-run-live": false, "kiln-run-dead": true, "kiln-run-reused": true,
		"kiln-run-young": false, "kiln-run-old": true, "kiln-run-locked": false, "other-old": false} {
		_, err := os.Stat(filepath.Join(tmp, name))
		if gone := os.IsNotExist(err); gone != want || removed[name] != want {
			t.Errorf("%s: removed %v (reported %v), want %v", name, gone, removed[name], want)
		}
	}
}

// TestSweepCgroups: on the real cgroup filesystem (as root), an empty
// kiln-* cgroup past the grace is removed; one with a process, a young
// one, and one with a child cgroup stay.
func TestSweepCgroups(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: makes cgroups")
	}
	var mp string
	for _, m := range cgroupMounts() {
		if filepath.Base(m) == "pids" || filepath.Base(m) == "unified" {
			mp = m
			break
		}
	}
	if mp == "" {
		t.Skip("no pids or unified cgroup hierarchy mounted")
	}
	parent := "/kiln-sweep-test-" + strconv.Itoa(os.Getpid())
	base := filepath.Join(mp, parent)
	mk := func(name string) string {
		p := filepath.Join(base, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Skipf("cannot make cgroups: %v", err)
		}
		return p
	}
	busy := mk("kiln-busy")
	mk("kiln-empty")
	mk("kiln-parent/child")
	mk("other-empty")
	sleep := exec.Command("sleep", "60")
	must(t, sleep.Start())
	t.Cleanup(func() {
		sleep.Process.Kill()
		sleep.Wait()
		for _, p := range []string{"kiln-busy", "kiln-empty", "kiln-parent/child", "kiln-parent", "other-empty", ""} {
			os.Remove(filepath.Join(base, p))
		}
	})
	must(t, os.WriteFile(filepath.Join(busy, "cgroup.procs"), []byte(strconv.Itoa(sleep.Process.Pid)), 0o644))
	young := sweepStale(sweepConfig{cgroupParent: parent, cgroupGrace: time.Hour})
	if len(young.Cgroups) != 0 {
		t.Errorf("removed young cgroups: %v", young.Cgroups)
	}
	got := sweepStale(sweepConfig{cgroupParent: parent})
	var want []string
	for _, m := range cgroupMounts() {
		if _, err := os.Stat(filepath.Join(m, parent, "kiln-empty")); err == nil {
			t.Errorf("%s: kiln-empty left", m)
		}
		if m == mp {
			want = append(want, filepath.Join(m, parent, "kiln-empty"))
		}
	}
	if len(got.Cgroups) != 1 || got.Cgroups[0] != want[0] {
		t.Errorf("removed %v, want %v", got.Cgroups, want)
	}
	for _, p := range []string{"kiln-busy", "kiln-parent/child", "other-empty"} {
		if _, err := os.Stat(filepath.Join(base, p)); err != nil {
			t.Errorf("%s removed", p)
		}
	}
}

func flockEx(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) }
