package progress

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// Sink receives a build's events. Stages run in parallel, so a Sink must
// be safe for concurrent use.
type Sink interface {
	Event(Event)
}

// Discard is a Sink that drops everything.
var Discard Sink = discard{}

type discard struct{}

func (discard) Event(Event) {}

// Or returns s, or Discard when s is nil.
func Or(s Sink) Sink {
	if s == nil {
		return Discard
	}
	return s
}

// Notef sends a Note.
func Notef(s Sink, format string, args ...any) {
	Or(s).Event(Note{Message: fmt.Sprintf(format, args...)})
}

// Step is a step in progress: it sends StepStarted when made and one of
// StepCached, StepDone or StepFailed when it ends.
type Step struct {
	sink  Sink
	info  StepInfo
	start time.Time
	once  sync.Once
}

// Start announces a step.
func Start(s Sink, info StepInfo) *Step {
	st := &Step{sink: Or(s), info: info, start: time.Now()}
	if st.info.ID == "" {
		st.info.ID = info.Title()
	}
	st.sink.Event(StepStarted{StepInfo: st.info, Time: st.start})
	return st
}

// Info is the step's identity.
func (st *Step) Info() StepInfo { return st.info }

// Done ends the step: StepDone, or StepFailed when err is not nil.
func (st *Step) Done(err error) {
	st.once.Do(func() {
		now := time.Now()
		if err != nil {
			st.sink.Event(StepFailed{StepInfo: st.info, Time: now, Duration: now.Sub(st.start), Err: err})
			return
		}
		st.sink.Event(StepDone{StepInfo: st.info, Time: now, Duration: now.Sub(st.start)})
	})
}

// Cached ends the step as answered by the cache.
func (st *Step) Cached() {
	st.once.Do(func() { st.sink.Event(StepCached{StepInfo: st.info, Time: time.Now()}) })
}

// Transfer reports bytes moved so far.
func (st *Step) Transfer(current, total int64, done bool) {
	st.sink.Event(Transfer{StepInfo: st.info, Current: current, Total: total, Done: done})
}

// Output is a writer that sends every line written to it as a Log event
// of the step. Flush sends a last partial line.
func (st *Step) Output() *LineWriter {
	return &LineWriter{emit: func(line string) {
		st.sink.Event(Log{StepInfo: st.info, Time: time.Now(), Line: line})
	}}
}

// LineWriter splits what is written to it into lines.
type LineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	emit func(string)
}

func (l *LineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	for {
		line, err := l.buf.ReadBytes('\n')
		if err != nil {
			l.buf.Write(line) // keep the partial line
			return len(b), nil
		}
		l.emit(string(bytes.TrimRight(line, "\n")))
	}
}

// Flush sends a last partial line, if any.
func (l *LineWriter) Flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 0 {
		l.emit(l.buf.String())
		l.buf.Reset()
	}
}

var _ io.Writer = (*LineWriter)(nil)
