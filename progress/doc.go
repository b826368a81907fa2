// Package progress prints what a build does: one line per step with its
// time or CACHED, skipped stages, and RUN output prefixed by its step.
package progress
