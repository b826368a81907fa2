package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// TTY is a live view for a terminal (--progress=tty), like buildx's: a
// header with the elapsed time and steps done, one line per step with its
// time (or CACHED), and under each running step the last lines of its
// output. Finished steps are printed once and scroll away; only the steps
// from the first unfinished one on are redrawn, several times a second.
type TTY struct {
	mu       sync.Mutex
	w        io.Writer
	width    int
	start    time.Time
	steps    []*ttyStep
	byID     map[string]*ttyStep
	printed  int // steps[:printed] are final and off the live area
	live     int // lines of the live area on screen
	done     chan struct{}
	stopped  sync.WaitGroup
	finished bool
}

type ttyStep struct {
	info   StepInfo
	start  time.Time
	end    time.Time
	state  string // "", "done", "cached", "error"
	tail   []string
	errMsg string
}

// tailLines is how many output lines a running step shows.
const tailLines = 6

var _ Display = (*TTY)(nil)

// NewTTY draws on w, redrawing until Close.
func NewTTY(w io.Writer) *TTY {
	t := &TTY{w: w, width: 100, start: time.Now(), byID: map[string]*ttyStep{}, done: make(chan struct{})}
	if f, ok := w.(*os.File); ok {
		if cols, _, ok := termSize(f); ok && cols > 0 {
			t.width = cols
		}
	}
	t.stopped.Add(1)
	go t.tick()
	return t
}

func (t *TTY) tick() {
	defer t.stopped.Done()
	tk := time.NewTicker(150 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tk.C:
			t.mu.Lock()
			t.draw()
			t.mu.Unlock()
		}
	}
}

// Event implements Sink.
func (t *TTY) Event(e Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e := e.(type) {
	case StepStarted:
		s := &ttyStep{info: e.StepInfo, start: e.Time}
		t.steps = append(t.steps, s)
		t.byID[e.ID] = s
	case StepCached:
		t.end(e.StepInfo, "cached", e.Time, "")
	case StepDone:
		t.end(e.StepInfo, "done", e.Time, "")
	case StepFailed:
		msg := "interrupted"
		if e.Err != nil && !isCancel(e.Err) {
			msg, _, _ = strings.Cut(e.Err.Error(), "\n")
		}
		t.end(e.StepInfo, "error", e.Time, msg)
	case Log:
		if s := t.byID[e.ID]; s != nil {
			s.tail = append(s.tail, e.Line)
			if len(s.tail) > tailLines {
				s.tail = s.tail[len(s.tail)-tailLines:]
			}
		}
	case StageSkipped:
		t.above(fmt.Sprintf(" => [%s] skipped: not needed by target %s", e.Stage, e.Target))
	case Warning:
		t.above(e.String())
	case Note:
		t.above(e.Message)
	}
}

func (t *TTY) end(info StepInfo, state string, at time.Time, msg string) {
	s := t.byID[info.ID]
	if s == nil {
		s = &ttyStep{info: info, start: at}
		t.steps = append(t.steps, s)
		t.byID[info.ID] = s
	}
	s.state, s.end, s.errMsg = state, at, msg
}

// above prints a line above the live area, for good, after the steps
// that finished before it.
func (t *TTY) above(line string) {
	t.clear()
	t.scroll()
	fmt.Fprintf(t.w, "%s\n", t.fit(line))
	t.draw()
}

// scroll prints the steps that finished, up to the first unfinished one,
// for good.
func (t *TTY) scroll() {
	var b strings.Builder
	for t.printed < len(t.steps) && t.steps[t.printed].state != "" {
		s := t.steps[t.printed]
		b.WriteString(t.fit(t.stepLine(s)) + "\n")
		if s.state == "error" {
			for _, l := range s.tail {
				b.WriteString(t.fit(" => => # "+l) + "\n")
			}
		}
		t.printed++
	}
	io.WriteString(t.w, b.String())
}

// clear moves to the top of the live area and erases it.
func (t *TTY) clear() {
	if t.live > 0 {
		fmt.Fprintf(t.w, "\x1b[%dA\x1b[J", t.live)
		t.live = 0
	}
}

// draw prints the finished steps that scroll away, then redraws the live
// area: the header and every step from the first unfinished one.
func (t *TTY) draw() {
	t.clear()
	t.scroll()
	if t.finished {
		return
	}
	var b strings.Builder
	done := 0
	for _, s := range t.steps {
		if s.state != "" {
			done++
		}
	}
	lines := []string{fmt.Sprintf("[+] Building %.1fs (%d/%d)", time.Since(t.start).Seconds(), done, len(t.steps))}
	for _, s := range t.steps[t.printed:] {
		lines = append(lines, t.stepLine(s))
		if s.state == "" {
			for _, l := range s.tail {
				lines = append(lines, " => => # "+l)
			}
		}
	}
	for _, l := range lines {
		b.WriteString(t.fit(l) + "\n")
	}
	io.WriteString(t.w, b.String())
	t.live = len(lines)
}

func (t *TTY) stepLine(s *ttyStep) string {
	name := s.info.Title()
	end := s.end
	switch s.state {
	case "":
		end = time.Now()
	case "cached":
		name = "CACHED " + name
	case "error":
		name = "ERROR " + name + ": " + s.errMsg
	}
	dur := fmt.Sprintf("%.1fs", end.Sub(s.start).Seconds())
	line := " => " + name
	if pad := t.width - len(dur) - 1 - len([]rune(line)); pad > 0 {
		return line + strings.Repeat(" ", pad) + dur
	}
	return line + " " + dur
}

// fit cuts a line to the terminal's width, so one line stays one row.
func (t *TTY) fit(s string) string {
	s = strings.ReplaceAll(s, "\t", " ")
	r := []rune(s)
	if t.width > 1 && len(r) > t.width-1 {
		return string(r[:t.width-1])
	}
	return s
}

// Close draws the final state: every step, printed for good.
func (t *TTY) Close() error {
	t.mu.Lock()
	if t.finished {
		t.mu.Unlock()
		return nil
	}
	close(t.done)
	t.mu.Unlock()
	t.stopped.Wait()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.steps {
		if s.state == "" { // never ended: the build stopped under it
			s.state, s.end, s.errMsg = "error", time.Now(), "interrupted"
		}
	}
	t.clear()
	t.finished = true
	t.draw()
	fmt.Fprintf(t.w, "[+] Built in %.1fs (%d steps)\n", time.Since(t.start).Seconds(), len(t.steps))
	return nil
}
