package progress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Display is a Sink that renders events for people or tools; Close
// finishes the rendering (the last frame of a live view).
type Display interface {
	Sink
	Close() error
}

// Modes are the --progress values, as buildx spells them.
var Modes = []string{"auto", "tty", "plain", "rawjson", "quiet"}

// NewDisplay renders events to w in mode: tty (a live view), plain (one
// line per event), rawjson (one JSON object per line), quiet (nothing),
// or auto: tty when w is a terminal, else plain.
func NewDisplay(mode string, w io.Writer) (Display, error) {
	switch mode {
	case "", "auto":
		if isTerminal(w) {
			return NewTTY(w), nil
		}
		return NewPlain(w), nil
	case "tty":
		return NewTTY(w), nil
	case "plain":
		return NewPlain(w), nil
	case "rawjson":
		return NewJSON(w), nil
	case "quiet":
		return quiet{}, nil
	}
	return nil, fmt.Errorf("--progress=%s: want one of %s", mode, strings.Join(Modes, ", "))
}

type quiet struct{ discard }

func (quiet) Close() error { return nil }

// Close implements Display.
func (j *JSON) Close() error { return nil }

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	_, _, ok = termSize(f)
	return ok
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
