// Package solver runs a Dockerfile: Build plans its stages, schedules the
// ones the target needs (independent ones in parallel, bounded by job
// slots), runs each instruction on snapshots — answering steps from the
// content-addressed cache where it can — and returns the target's image
// config and layer stack as a Result for package export.
//
//	res, err := solver.Build(ctx, st, contextDir, solver.WithTarget("final"))
//	defer res.Close()
//
// One file per instruction kind (run.go, copy.go, add.go, metadata.go, …);
// the shared parts of a build each own one concern: scheduler (stages and
// job slots), layerStore (step cache, snapshots, remote caches),
// contextFiles (the build context and its stat cache), runner (RUN's
// executor).
package solver
