package snapshot_test

import (
	"os"
	"testing"

	"github.com/kiln-build/kiln/snapshot"
	"github.com/kiln-build/kiln/snapshot/snapshottest"
	"github.com/kiln-build/kiln/store"
)

func open(t *testing.T, kind snapshot.Kind) snapshot.Snapshotter {
	t.Helper()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sn, err := snapshot.Open(st, kind)
	if err != nil {
		t.Fatal(err)
	}
	return sn
}

func TestNative(t *testing.T) {
	snapshottest.Run(t, func(t *testing.T) snapshot.Snapshotter { return open(t, snapshot.Native) })
}

func TestOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("overlay mounts need root")
	}
	snapshottest.Run(t, func(t *testing.T) snapshot.Snapshotter { return open(t, snapshot.Overlay) })
}
