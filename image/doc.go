// Package image is the in-memory form of an image kiln uses or builds: its
// config and its stack of layers, each a snapshot directory and, once known,
// its blob and diff ID.
package image
