// Package buildcontext loads a build context directory and its .dockerignore rules, with docker's semantics.
package buildcontext
