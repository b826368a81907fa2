package store

import "time"

// Stale is what SweepStale removed: cgroup directories and libcontainer
// state directories that killed kiln processes left behind.
type Stale struct {
	Cgroups   []string
	StateDirs []string
}

// sweepConfig is where SweepStale looks and how old things must be; tests
// point it elsewhere.
type sweepConfig struct {
	cgroupParent string        // the runtime's cgroup parent ("/kiln")
	cgroupGrace  time.Duration // an empty cgroup younger than this may be a container being set up
	stateDirs    []string      // where runtime keeps kiln-run-* state dirs: the temp dir, /dev/shm
	stateGrace   time.Duration // a state dir without state.json younger than this may be a container being created
}

// cgroupGrace: libcontainer makes a container's cgroup and moves its init
// into it in one step, microseconds apart; an empty kiln cgroup 5 s old
// has lost its container.
const cgroupGrace = 5 * time.Second

// stateGrace: a kiln-run-* dir gets its container's state.json some
// milliseconds after it is made, once the container has started.
const stateGrace = 10 * time.Second
