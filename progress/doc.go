// Package progress carries what a build is doing as typed events (step
// started, cached, done or failed, a line of a step's output, a stage
// skipped, a warning, a note, export progress) from the library to a Sink.
// The library is quiet unless given a sink; the CLI picks one that renders
// the events (plain lines today), and tests use a Recorder.
//
// Emitting a step:
//
//	step := progress.Start(sink, progress.StepInfo{Stage: "builder", Index: 2, Total: 4, Name: "RUN go build"})
//	io.WriteString(step.Output(), "compiling\n") // one Log event per line
//	step.Done(err)                               // StepDone, or StepFailed when err != nil
package progress
