// Package store is kiln's embedded image store: content-addressed blobs and an
// image index laid out as an OCI image layout, snapshot directories, and the
// locks and temp space that let several kiln processes share one root.
package store
