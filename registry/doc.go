// Package registry is how kiln talks to OCI registries: go-containerregistry
// options that retry server errors and resets with backoff and stop when the
// context ends, and blob transfers that survive bodies cut mid-transfer and
// never let a blob whose digest does not match reach the store.
package registry
