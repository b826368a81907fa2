package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Plain prints events as plain lines for logs (--progress=plain), in
// buildx's style: each step gets a number when it starts, and every line
// about it starts with that number:
//
//	#3 [builder 2/4] RUN go build -o /app .
//	#3 0.512 compiling
//	#3 DONE 7.3s
//
// A config-only step (ENV, CMD, …) is one line, printed when it ends.
type Plain struct {
	mu    sync.Mutex
	w     io.Writer
	n     int
	nums  map[string]int       // step ID → number
	start map[string]time.Time // step ID → start, for log times
}

var _ Sink = (*Plain)(nil)

// NewPlain prints to w.
func NewPlain(w io.Writer) *Plain {
	return &Plain{w: w, nums: map[string]int{}, start: map[string]time.Time{}}
}

// Event implements Sink.
func (p *Plain) Event(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := e.(type) {
	case StepStarted:
		p.n++
		p.nums[e.ID], p.start[e.ID] = p.n, e.Time
		if !e.Config {
			p.printf("#%d %s\n", p.n, e.Title())
		}
	case StepCached:
		p.printf("#%d CACHED\n", p.num(e.StepInfo))
	case StepDone:
		if e.Config {
			p.printf("#%d %s\n", p.num(e.StepInfo), e.Title())
			return
		}
		p.printf("#%d DONE %.1fs\n", p.num(e.StepInfo), e.Duration.Seconds())
	case StepFailed:
		n := p.num(e.StepInfo)
		if e.Config {
			p.printf("#%d %s\n", n, e.Title())
		}
		msg := "interrupted"
		if e.Err != nil && !isCancel(e.Err) {
			msg, _, _ = strings.Cut(e.Err.Error(), "\n")
		}
		p.printf("#%d ERROR: %s\n", n, msg)
	case Log:
		n := p.num(e.StepInfo)
		p.printf("#%d %.3f %s\n", n, e.Time.Sub(p.start[e.ID]).Seconds(), e.Line)
	case StageSkipped:
		p.printf("[%s] skipped: not needed by target %s\n", e.Stage, e.Target)
	case Warning:
		p.printf("%s\n", e.String())
	case Note:
		p.printf("%s\n", e.Message)
	case Transfer:
		if e.Done {
			p.printf("#%d %s %s done\n", p.num(e.StepInfo), e.Name, Size(e.Current))
		}
	}
}

func (p *Plain) printf(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

// num is the step's number, given one on the spot for a step that did not
// announce its start.
func (p *Plain) num(s StepInfo) int {
	if n, ok := p.nums[s.ID]; ok {
		return n
	}
	p.n++
	p.nums[s.ID] = p.n
	return p.n
}

// Close implements Display.
func (p *Plain) Close() error { return nil }

// String is a warning as one line: "warning: Dockerfile:3: message".
func (w Warning) String() string {
	if w.Rule != "" { // a lint rule, as buildx prints it
		if w.Line > 0 {
			return fmt.Sprintf("WARN: %s: %s (line %d)", w.Rule, w.Message, w.Line)
		}
		return fmt.Sprintf("WARN: %s: %s", w.Rule, w.Message)
	}
	prefix := "warning: "
	switch {
	case w.File != "" && w.Line > 0:
		return fmt.Sprintf("%s%s:%d: %s", prefix, w.File, w.Line, w.Message)
	case w.File != "":
		return fmt.Sprintf("%s%s: %s", prefix, w.File, w.Message)
	}
	return prefix + w.Message
}
