// Package explain attributes every byte of an image to the stage and
// instruction that made it, and checks the image for what a builder stage
// should have kept to itself: toolchains, caches, VCS metadata and secrets
// that crossed the stage boundary (the leak rules).
//
// Analyze reads the image's layers from the store, one pass over each
// layer tar, and the build record kiln keeps beside images it built
// (image.Record); an image without one is explained from its config
// history alone:
//
//	rep, err := explain.Analyze(ctx, st, "hello:latest")
//	if err != nil {
//		return err
//	}
//	rep.WriteTable(os.Stdout) // or WriteJSON, WriteHTML
//
// Check runs only the leak rules, for the warnings printed after a build:
//
//	ws, err := explain.Check(ctx, st, manifestDigest)
//	explain.WriteWarnings(os.Stderr, ws)
//
// What one pass over a layer found depends only on the layer's content, so
// it is kept in the store as a record beside the layer blob ("explain-v1")
// and a second look at the same layer does not read it again.
package explain
