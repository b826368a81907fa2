// Package cli is kiln's command line: cobra commands that turn flags into
// options, make one library call and print the result.
package cli
