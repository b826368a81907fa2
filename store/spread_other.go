//go:build !linux

package store

func spreadDir(string) {}

// TreeDir is TempDir for a directory about to receive a large tree.
func (s *Store) TreeDir(pattern string) (string, error) { return s.TempDir(pattern) }
