package progress

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// JSON writes each event as one JSON object per line (--progress=rawjson),
// for tools. The schema is documented in docs/progress-json.md; every
// object has "type" and "time", step events have "id", "stage", "index",
// "total" and "name".
type JSON struct {
	mu  sync.Mutex
	enc *json.Encoder
}

var _ Sink = (*JSON)(nil)

// NewJSON writes to w.
func NewJSON(w io.Writer) *JSON { return &JSON{enc: json.NewEncoder(w)} }

// Record is the JSON form of an event.
type Record struct {
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// steps
	ID         string `json:"id,omitempty"`
	Stage      string `json:"stage,omitempty"`
	Index      int    `json:"index,omitempty"`
	Total      int    `json:"total,omitempty"`
	Name       string `json:"name,omitempty"`
	DurationMS int64  `json:"duration_ms,omitempty"`
	Error      string `json:"error,omitempty"`
	Line       string `json:"line,omitempty"` // log
	// skipped stages
	Target string `json:"target,omitempty"`
	// warnings and notes
	File    string `json:"file,omitempty"`
	LineNo  int    `json:"lineno,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message,omitempty"`
	// transfers
	Current  int64 `json:"current,omitempty"`
	Size     int64 `json:"size,omitempty"`
	Finished bool  `json:"finished,omitempty"`
	// anything else a caller adds (the build summary)
	Data any `json:"data,omitempty"`
}

// Event implements Sink.
func (j *JSON) Event(e Event) {
	r, ok := RecordOf(e)
	if !ok {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(r)
}

// Write emits a record of the caller's own (the CLI's summary).
func (j *JSON) Write(typ string, data any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(Record{Type: typ, Time: time.Now().UTC(), Data: data})
}

// RecordOf converts an event to its JSON record.
func RecordOf(e Event) (Record, bool) {
	step := func(typ string, s StepInfo, t time.Time) Record {
		return Record{Type: typ, Time: t.UTC(), ID: s.ID, Stage: s.Stage, Index: s.Index, Total: s.Total, Name: s.Name}
	}
	now := time.Now()
	switch e := e.(type) {
	case StepStarted:
		return step("step.started", e.StepInfo, e.Time), true
	case StepCached:
		return step("step.cached", e.StepInfo, e.Time), true
	case StepDone:
		r := step("step.done", e.StepInfo, e.Time)
		r.DurationMS = e.Duration.Milliseconds()
		return r, true
	case StepFailed:
		r := step("step.error", e.StepInfo, e.Time)
		r.DurationMS = e.Duration.Milliseconds()
		if e.Err != nil {
			r.Error = e.Err.Error()
		}
		return r, true
	case Log:
		r := step("log", e.StepInfo, e.Time)
		r.Line = e.Line
		return r, true
	case StageSkipped:
		return Record{Type: "stage.skipped", Time: now.UTC(), Stage: e.Stage, Target: e.Target}, true
	case Warning:
		return Record{Type: "warning", Time: now.UTC(), File: e.File, LineNo: e.Line, Rule: e.Rule, Message: e.Message}, true
	case Note:
		return Record{Type: "note", Time: now.UTC(), Message: e.Message}, true
	case Transfer:
		r := step("transfer", e.StepInfo, now)
		r.Current, r.Size, r.Finished = e.Current, e.Total, e.Done
		return r, true
	}
	return Record{}, false
}
