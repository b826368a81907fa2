// Package depcheck holds a test that keeps kiln's package dependencies
// pointing one way (cli → build → … → store, archive) and keeps gRPC out.
package depcheck
