// Package solver runs a planned Dockerfile: it schedules the stages the
// target needs (independent ones in parallel), executes each instruction on
// snapshots, and produces the target's image config and layer stack.
package solver
