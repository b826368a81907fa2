// Package snapshot owns kiln's snapshots: directories that hold one
// layer's files in overlay format (a deleted path is a 0/0 character device,
// an opaque directory carries trusted.overlay.opaque=y), committed under
// <store>/snapshots/<id>/fs, and the stacking of them for a step to write
// into or read from.
//
// Vocabulary, as in containerd: Prepare gives an Active snapshot whose
// Root is the merged view of its lowers with a fresh, empty set of changes
// on top; whatever is written under Root becomes, at Commit, a new
// committed snapshot holding exactly those changes. View is the read-only
// merged view. Lowers are committed snapshots' Paths, top layer first.
//
// Lifecycle of one build step:
//
//	a, err := sn.Prepare(ctx, []string{sn.Path(parent), sn.Path(base)})
//	// ... write into a.Root() (COPY) or run a container on it (RUN) ...
//	err = a.Commit(ctx, key) // key now names the step's changes: sn.Path(key)
//	a.Release()              // drop the mount and temp space (safe after Commit)
//
// Pulled layers become snapshots by Extract, named by LayerID (their diff
// ID): a snapshot in overlay format depends only on its own diff, so one
// is shared by every image that has that layer.
//
// Two implementations pass one test suite (package snapshottest): Overlay
// mounts overlayfs (root, or a user namespace with overlay support), and
// Native copies files (any user, any filesystem; slower), the fallback.
package snapshot
