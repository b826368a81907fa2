package progress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// script sends the events of a small build to s.
func script(s Sink) {
	from := Start(s, StepInfo{ID: "b#1", Stage: "builder", Index: 1, Total: 3, Name: "FROM golang"})
	from.Done(nil)
	env := Start(s, StepInfo{ID: "b#2", Stage: "builder", Index: 2, Total: 3, Name: "ENV A=1", Config: true})
	env.Done(nil)
	run := Start(s, StepInfo{ID: "b#3", Stage: "builder", Index: 3, Total: 3, Name: "RUN go build"})
	out := run.Output()
	io.WriteString(out, "compiling\npartial")
	out.Flush()
	run.Done(errors.New("exit code: 1\nmore detail"))
	cached := Start(s, StepInfo{ID: "f#2", Stage: "final", Index: 2, Total: 2, Name: "COPY --from=builder /app /app"})
	cached.Cached()
	s.Event(StageSkipped{Stage: "unused", Target: "final"})
	s.Event(Warning{File: "Dockerfile", Line: 4, Rule: "JSONArgsRecommended", Message: "use JSON"})
	Notef(s, "naming to %s", "app:1")
}

func TestPlain(t *testing.T) {
	var b bytes.Buffer
	script(NewPlain(&b))
	got := regexpTimes(b.String())
	want := `#1 [builder 1/3] FROM golang
#1 DONE 0.0s
#2 [builder 2/3] ENV A=1
#3 [builder 3/3] RUN go build
#3 T compiling
#3 T partial
#3 ERROR: exit code: 1
#4 [final 2/2] COPY --from=builder /app /app
#4 CACHED
[unused] skipped: not needed by target final
WARN: JSONArgsRecommended: use JSON (line 4)
naming to app:1
`
	if got != want {
		t.Errorf("plain output:\n%s\nwant:\n%s", got, want)
	}
}

// regexpTimes replaces the elapsed times of log lines with T.
func regexpTimes(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		f := strings.SplitN(l, " ", 3)
		if len(f) == 3 && strings.HasPrefix(f[0], "#") && strings.Contains(f[1], ".") && f[1] != "DONE" {
			l = f[0] + " T " + f[2]
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	j := NewJSON(&b)
	script(j)
	j.Write("summary", map[string]int{"layers": 1})
	var types []string
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("not JSON: %s", l)
		}
		if r.Time.IsZero() {
			t.Errorf("no time: %s", l)
		}
		types = append(types, r.Type)
		if r.Type == "step.error" && (r.ID != "b#3" || r.Stage != "builder" || r.Index != 3 || !strings.HasPrefix(r.Error, "exit code: 1")) {
			t.Errorf("step.error record: %s", l)
		}
		if r.Type == "warning" && (r.LineNo != 4 || r.Rule != "JSONArgsRecommended") {
			t.Errorf("warning record: %s", l)
		}
	}
	want := "step.started step.done step.started step.done step.started log log step.error step.started step.cached stage.skipped warning note summary"
	if strings.Join(types, " ") != want {
		t.Errorf("types:\n%s\nwant\n%s", strings.Join(types, " "), want)
	}
}

func TestTTY(t *testing.T) {
	var b bytes.Buffer
	tty := NewTTY(&b)
	step := Start(tty, StepInfo{ID: "x", Stage: "s", Index: 1, Total: 1, Name: "RUN sleep"})
	io.WriteString(step.Output(), "working\n")
	time.Sleep(400 * time.Millisecond) // a few redraws
	step.Done(nil)
	Notef(tty, "done note")
	tty.Close()
	out := b.String()
	for _, want := range []string{"[+] Building", " => => # working", " => [s 1/1] RUN sleep", "done note", "[+] Built in"} {
		if !strings.Contains(out, want) {
			t.Errorf("tty output lacks %q:\n%q", want, out)
		}
	}
	if !strings.Contains(out, "\x1b[") {
		t.Error("the live view never redrew")
	}
	// the finished step is printed once, for good, before the note
	if i, j := strings.LastIndex(out, " => [s 1/1] RUN sleep"), strings.Index(out, "done note"); i > j {
		t.Errorf("the note came before the step that finished first:\n%q", out)
	}
}

func TestNewDisplay(t *testing.T) {
	var b bytes.Buffer
	for mode, want := range map[string]string{"auto": "*progress.Plain", "plain": "*progress.Plain",
		"rawjson": "*progress.JSON", "quiet": "progress.quiet", "tty": "*progress.TTY"} {
		d, err := NewDisplay(mode, &b)
		if err != nil {
			t.Fatal(err)
		}
		if got := typeName(d); got != want {
			t.Errorf("%s: %s, want %s", mode, got, want)
		}
		d.Close()
	}
	if _, err := NewDisplay("fancy", &b); err == nil || !strings.Contains(err.Error(), "--progress=fancy") {
		t.Errorf("unknown mode: %v", err)
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

func TestRecorder(t *testing.T) {
	var r Recorder
	script(&r)
	if r.Count("done") != 2 || r.Count("failed") != 1 || r.Count("cached") != 1 {
		t.Errorf("steps %v", r.Steps())
	}
	if strings.Join(r.Logs(), "|") != "compiling|partial" || strings.Join(r.Notes(), "|") != "naming to app:1" {
		t.Errorf("logs %v notes %v", r.Logs(), r.Notes())
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %s, want %s", n, got, want)
		}
	}
}
