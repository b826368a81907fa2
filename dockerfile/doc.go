// Package dockerfile parses Dockerfiles with BuildKit's own parser and
// instruction packages, and reports errors with the file and line.
package dockerfile
