// Package copier copies files between directories with the semantics of the Dockerfile COPY and ADD instructions as BuildKit implements them.
package copier
