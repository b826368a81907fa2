//go:build !linux

package snapshot

import "errors"

var errNoOverlay = errors.New("snapshot: overlay mounts need Linux")

func mountOverlay(string, []string, string, string) error { return errNoOverlay }

func unmount(string) error { return errNoOverlay }

func normalize(string, []string) error { return errNoOverlay }
