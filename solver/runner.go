package solver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/kiln-build/kiln/runtime"
)

// runner gives RUN steps their executor, made on first use: libcontainer
// in-process, or an external OCI runtime binary.
type runner struct {
	tmp     string
	seccomp string // compiled seccomp programs kept across builds
	runtime string
	mu      sync.Mutex
	exec    runtime.Executor
}

func newRunner(tmp, seccomp, runtimeName string, e runtime.Executor) *runner {
	return &runner{tmp: tmp, seccomp: seccomp, runtime: runtimeName, exec: e}
}

func (r *runner) executor() (runtime.Executor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.exec != nil {
		return r.exec, nil
	}
	dir := filepath.Join(r.tmp, "run")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var err error
	if r.runtime != "" {
		if r.exec, err = runtime.NewOCIRuntime(r.runtime, dir); err != nil {
			return nil, fmt.Errorf("--runtime=%s: %w", r.runtime, err)
		}
		return r.exec, nil
	}
	if r.exec, err = runtime.NewLibcontainer(dir, runtime.WithSeccompCache(r.seccomp)); err != nil {
		return nil, err
	}
	return r.exec, nil
}

func randomID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
