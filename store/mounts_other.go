//go:build !linux

package store

// unmountBelow does nothing where kiln mounts nothing.
func unmountBelow(string) {}
