// Package plan turns a parsed Dockerfile into a stage graph: stage names and
// indexes, global ARGs, base and --from edges, and the stages the target
// needs (the rest are never run).
package plan
