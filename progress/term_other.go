//go:build !linux && !darwin

package progress

import "os"

func termSize(*os.File) (int, int, bool) { return 0, 0, false }
