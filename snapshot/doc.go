// Package snapshot stacks snapshot directories into overlay mounts: a fresh
// upper dir over a stage's layers for a step to write into, or a read-only
// merged view of a stage for COPY --from and exports.
//
// Lifecycle of one step:
//
//	a, _ := snapshot.Prepare(ctx, tmp, lowers) // lowers: top layer first
//	// ... write into a.Root() (COPY) or run a container on it (RUN) ...
//	upper, _ := a.Commit()                     // unmount; upper is the step's layer
//
// A View is a Prepare without an upper dir: read-only, released with Release.
package snapshot
