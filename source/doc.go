// Package source resolves the images a build starts from or copies from:
// scratch, images in the store (first, like docker), OCI layout directories
// and registries. Their layers are extracted once into snapshot directories
// that every later build reuses.
package source
