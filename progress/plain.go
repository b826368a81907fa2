package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Plain prints events as plain lines, one per event, for logs and for
// terminals alike.
type Plain struct {
	mu sync.Mutex
	w  io.Writer
}

var _ Sink = (*Plain)(nil)

// NewPlain prints to w.
func NewPlain(w io.Writer) *Plain { return &Plain{w: w} }

// Event implements Sink.
func (p *Plain) Event(e Event) {
	var line string
	switch e := e.(type) {
	case StepStarted:
		line = e.Title()
	case StepCached:
		line = e.Title() + ": CACHED"
	case StepDone:
		line = fmt.Sprintf("%s: done in %s", e.Title(), round(e.Duration))
	case StepFailed:
		line = fmt.Sprintf("%s: ERROR after %s", e.Title(), round(e.Duration))
	case Log:
		line = logPrefix(e.StepInfo) + e.Line
	case StageSkipped:
		line = fmt.Sprintf("[%s] skipped: not needed by target %s", e.Stage, e.Target)
	case Warning:
		line = "warning: " + e.Message
		switch {
		case e.File != "" && e.Line > 0:
			line = fmt.Sprintf("warning: %s:%d: %s", e.File, e.Line, e.Message)
		case e.File != "":
			line = fmt.Sprintf("warning: %s: %s", e.File, e.Message)
		}
	case Note:
		line = e.Message
	case Transfer:
		if !e.Done {
			return
		}
		line = fmt.Sprintf("%s: %s", e.Title(), Size(e.Current))
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, line)
}

// logPrefix is the step's "[stage n/m] " before each output line.
func logPrefix(s StepInfo) string {
	if s.Stage == "" {
		return ""
	}
	return fmt.Sprintf("[%s %d/%d] ", s.Stage, s.Index, s.Total)
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
