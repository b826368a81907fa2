// Package integration runs kiln end to end, in process, on real builds:
// overlay snapshots, RUN in containers, exports and registries. The tests
// need root and a static busybox (Debian's busybox-static); they skip with a
// reason without them, and CI provides both.
package integration
