//go:build !linux

package store

// SweepStale does nothing where kiln runs no containers.
func SweepStale() Stale { return Stale{} }
