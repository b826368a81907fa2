package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A compiled profile is kept on disk and read back by the next process
// (here: with the process's own cache emptied) as the same program; a
// damaged file is compiled again and replaced.
func TestSeccompProgramsKeptOnDisk(t *testing.T) {
	p, err := defaultSeccomp(&specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{}}, Linux: &specs.Linux{}})
	if err != nil {
		t.Fatal(err)
	}
	forget := func() {
		seccompPrograms.Lock()
		clear(seccompPrograms.m)
		seccompPrograms.Unlock()
	}
	dir := filepath.Join(t.TempDir(), "seccomp")
	forget()
	first, err := compiledSeccomp(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.bpf"))
	if len(files) != 1 {
		t.Fatalf("kept programs: %v", files)
	}
	forget()
	again, err := compiledSeccomp(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, again) || len(again.filter) < 100 {
		t.Errorf("the kept program differs: %d instructions, flags %x; compiled %d, %x", len(again.filter), again.flags, len(first.filter), first.flags)
	}
	// (two compilations may order the rules differently: libcontainer
	// builds them from maps; the programs are equivalent)
	os.WriteFile(files[0], []byte("short"), 0o600)
	forget()
	prog, err := compiledSeccomp(p, dir)
	if err != nil || len(prog.filter) != len(first.filter) || prog.flags != first.flags {
		t.Fatalf("a damaged file: %v", err)
	}
	if b, _ := os.ReadFile(files[0]); len(b) != 8+8*len(prog.filter) {
		t.Errorf("the damaged file was not replaced: %d bytes", len(b))
	}
}
