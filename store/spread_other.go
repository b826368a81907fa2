//go:build !linux

package store

func spreadDir(string) {}
