//go:build !linux

package runtime

func maxNofile() uint64 { return 1 << 20 }
