//go:build !linux

package snapshot

import (
	"context"
	"errors"
	"io"
)

var errLinuxOnly = errors.New("snapshot: snapshots need Linux")

func canMountOverlay() bool { return false }

func newOverlay(*committed) (Snapshotter, error) { return nil, errLinuxOnly }

func newNative(*committed) (Snapshotter, error) { return nil, errLinuxOnly }

func applyOverlay(context.Context, string, io.Reader) error { return errLinuxOnly }
