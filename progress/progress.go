package progress

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// Printer writes build progress as plain lines. It is safe for concurrent
// use by stages running in parallel. A nil *Printer prints nothing.
type Printer struct {
	mu sync.Mutex
	w  io.Writer
}

// New prints to w; a nil w discards everything (kiln build -q).
func New(w io.Writer) *Printer {
	if w == nil {
		return nil
	}
	return &Printer{w: w}
}

// Printf prints one line.
func (p *Printer) Printf(format string, args ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, format+"\n", args...)
}

// Step is one instruction being executed.
type Step struct {
	p     *Printer
	name  string
	start time.Time
}

// Start announces a step ("[builder 2/4] RUN go build").
func (p *Printer) Start(name string) *Step {
	p.Printf("%s", name)
	return &Step{p: p, name: name, start: time.Now()}
}

// Done reports the step's outcome.
func (s *Step) Done(err error) {
	if s.p == nil {
		return
	}
	d := time.Since(s.start)
	if err != nil {
		s.p.Printf("%s: ERROR after %s", s.name, round(d))
		return
	}
	s.p.Printf("%s: done in %s", s.name, round(d))
}

// Cached reports a step answered by the cache.
func (s *Step) Cached() {
	if s.p != nil {
		s.p.Printf("%s: CACHED", s.name)
	}
}

// Output is a writer whose lines are printed with prefix.
func (s *Step) Output(prefix string) io.Writer {
	if s.p == nil {
		return io.Discard
	}
	return &lineWriter{p: s.p, prefix: prefix}
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

type lineWriter struct {
	p      *Printer
	prefix string
	buf    bytes.Buffer
	mu     sync.Mutex
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(b)
	for {
		line, err := l.buf.ReadBytes('\n')
		if err != nil {
			l.buf.Write(line) // keep the partial line
			return len(b), nil
		}
		l.p.Printf("%s%s", l.prefix, bytes.TrimRight(line, "\n"))
	}
}

// Flush prints a last partial line, if any.
func Flush(w io.Writer) {
	if l, ok := w.(*lineWriter); ok {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.buf.Len() > 0 {
			l.p.Printf("%s%s", l.prefix, l.buf.String())
			l.buf.Reset()
		}
	}
}

// Size formats a byte count for people (binary units).
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
