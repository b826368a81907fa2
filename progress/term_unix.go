//go:build linux || darwin

package progress

import (
	"os"

	"golang.org/x/sys/unix"
)

// termSize is the terminal's width and height (0 when it does not say),
// and whether f is a terminal at all.
func termSize(f *os.File) (int, int, bool) {
	if _, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios); err != nil {
		return 0, 0, false
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0, 0, true
	}
	return int(ws.Col), int(ws.Row), true
}
