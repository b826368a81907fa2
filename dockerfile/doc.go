// Package dockerfile parses Dockerfiles with BuildKit's own parser and
// instruction packages, reports errors with the file and line, and runs
// BuildKit's Dockerfile checks (Lint, what `docker build --check` reports).
package dockerfile
