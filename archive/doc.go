// Package archive converts between OCI layer tars and snapshot directories.
//
// A snapshot directory is a layer's files in overlayfs "upper dir" format: a
// deleted path is a 0/0 character device of the same name, and a directory
// that hides everything below it carries the xattr trusted.overlay.opaque=y.
// WriteLayer turns such a directory into a deterministic OCI layer tar (with
// .wh. whiteouts); Apply does the reverse, refusing entries that would escape
// the directory.
package archive
