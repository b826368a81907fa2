package solver

import "testing"

// An exit status above 128 is an exit status; only a process the kernel
// reports as killed by a signal is named so.
func TestExitErrorWording(t *testing.T) {
	for code, want := range map[int]string{
		1:   "exit code: 1",
		200: "exit code: 200",
		137: "exit code: 137",
		-9:  "exit code: 137 (killed by signal 9, SIGKILL: out of memory, or killed)",
		-11: "exit code: 139 (killed by signal 11, SIGSEGV)",
	} {
		if got := (&exitError{code: code}).Error(); got != want {
			t.Errorf("code %d: %q, want %q", code, got, want)
		}
	}
}
