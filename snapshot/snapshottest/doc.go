// Package snapshottest is the test suite every snapshot.Snapshotter must
// pass, as containerd's snapshots/testsuite is for its snapshotters: the
// same changes must commit to the same snapshot, whatever the mechanism.
// The suite needs Linux.
package snapshottest
