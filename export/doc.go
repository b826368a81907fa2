// Package export turns a built image into its outputs: layer blobs
// (compressed in parallel, only for the exported stage), the image in the
// store, OCI and docker archives, a registry push, or the files themselves
// as a directory or a flat tar.
package export
