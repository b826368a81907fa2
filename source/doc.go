// Package source resolves what a build starts from or copies from: scratch,
// images in the store (first, like docker), OCI layout directories and
// registries, whose layers are extracted once into snapshot directories that
// every later build reuses; and git repositories (ADD <git URL>), resolved
// to a commit with ResolveGit and checked out with FetchGit.
package source
