package progress

import (
	"strconv"
	"time"
)

// Event is one thing that happened during a build. The concrete types
// below are all there is; a Sink switches on them.
type Event interface{ event() }

// StepInfo names a step: the stage it belongs to, its place in the stage,
// and what it does ("RUN go build"). Steps outside any stage (exports,
// cache exports) have no Stage and no Index.
type StepInfo struct {
	ID           string // unique within a build
	Stage        string
	Index, Total int // 1-based position in the stage, and the stage's step count
	Name         string
	// Config marks a step that only changes the image config (ENV, CMD,
	// LABEL, …): quick, no output; displays may show it in one line.
	Config bool
}

// Title is how a step is shown in one line: "[builder 2/4] RUN go build".
func (s StepInfo) Title() string {
	if s.Stage == "" {
		return s.Name
	}
	if s.Total == 0 {
		return "[" + s.Stage + "] " + s.Name
	}
	return "[" + s.Stage + " " + strconv.Itoa(s.Index) + "/" + strconv.Itoa(s.Total) + "] " + s.Name
}

// StepStarted: a step began.
type StepStarted struct {
	StepInfo
	Time time.Time
}

// StepCached: the cache answered the step; it did no work.
type StepCached struct {
	StepInfo
	Time time.Time
}

// StepDone: the step finished after Duration.
type StepDone struct {
	StepInfo
	Time     time.Time
	Duration time.Duration
}

// StepFailed: the step failed (or was interrupted) after Duration.
type StepFailed struct {
	StepInfo
	Time     time.Time
	Duration time.Duration
	Err      error
}

// Log is one line a step's process wrote (without its newline).
type Log struct {
	StepInfo
	Time time.Time
	Line string
}

// StageSkipped: a stage the target does not need, which never runs.
type StageSkipped struct {
	Stage, Target string
}

// Warning is a problem worth a user's attention that did not stop the
// build, with its Dockerfile location when it has one.
type Warning struct {
	File    string
	Line    int
	Rule    string // lint rule name, when a rule found it
	Message string
}

// Note is an informational message ("pulling golang layer …", "naming to …").
type Note struct {
	Message string
}

// Transfer reports bytes moved by a long operation (a pull, an extraction,
// an export): Current of Total (Total 0 when unknown). Done marks the last.
type Transfer struct {
	StepInfo
	Current, Total int64
	Done           bool
}

func (StepStarted) event()  {}
func (StepCached) event()   {}
func (StepDone) event()     {}
func (StepFailed) event()   {}
func (Log) event()          {}
func (StageSkipped) event() {}
func (Warning) event()      {}
func (Note) event()         {}
func (Transfer) event()     {}
