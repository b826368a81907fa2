package progress

import "sync"

// Recorder is a Sink that keeps every event, for tests.
type Recorder struct {
	mu     sync.Mutex
	events []Event
}

var _ Sink = (*Recorder)(nil)

// Event implements Sink.
func (r *Recorder) Event(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

// Events returns the events so far, in the order they came.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// Outcome is how a step ended: "cached", "done", "failed", or "" while it
// runs.
type Outcome string

// Steps returns each step's outcome by title ("[stage 2/3] RUN …").
func (r *Recorder) Steps() map[string]Outcome {
	out := map[string]Outcome{}
	for _, e := range r.Events() {
		switch e := e.(type) {
		case StepStarted:
			out[e.Title()] = ""
		case StepCached:
			out[e.Title()] = "cached"
		case StepDone:
			out[e.Title()] = "done"
		case StepFailed:
			out[e.Title()] = "failed"
		}
	}
	return out
}

// Count returns how many steps ended with outcome o.
func (r *Recorder) Count(o Outcome) int {
	n := 0
	for _, got := range r.Steps() {
		if got == o {
			n++
		}
	}
	return n
}

// Logs returns the output lines of the steps, in order.
func (r *Recorder) Logs() []string {
	var out []string
	for _, e := range r.Events() {
		if l, ok := e.(Log); ok {
			out = append(out, l.Line)
		}
	}
	return out
}

// Notes returns the notes, in order.
func (r *Recorder) Notes() []string {
	var out []string
	for _, e := range r.Events() {
		if n, ok := e.(Note); ok {
			out = append(out, n.Message)
		}
	}
	return out
}
