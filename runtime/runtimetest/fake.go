// Package runtimetest has a fake runtime.Executor for tests that run
// builds without root and without containers: it interprets a few shell
// commands against the spec's root directory and records every call.
package runtimetest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/kiln-build/kiln/runtime"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Call is one Run, as the executor saw it.
type Call struct {
	ID     string
	Args   []string
	Env    []string
	Cwd    string
	UID    uint32
	GID    uint32
	Rootfs string
	Mounts []specs.Mount
}

// Script is the command a RUN's shell form gives the fake: the last arg.
func (c Call) Script() string { return c.Args[len(c.Args)-1] }

// Fake runs "containers" by interpreting the script of `sh -c SCRIPT`
// (the last argument) as commands joined by "&&", ";" or newlines:
//
//	echo WORDS [> PATH | >> PATH]   write (or print) WORDS
//	env > PATH                      write the environment, sorted
//	mkdir PATH | rm PATH | true
//	exit N                          end with status N
//	block                           wait until the context is done
//
// Paths are inside the spec's root. Hook, when set, is asked first for
// each call; handled=true skips the interpreter.
type Fake struct {
	Hook func(ctx context.Context, c Call) (handled bool, code int, err error)

	mu    sync.Mutex
	calls []Call
}

var _ runtime.Executor = (*Fake)(nil)

// Calls returns the calls so far.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// Run implements runtime.Executor.
func (f *Fake) Run(ctx context.Context, id string, spec *specs.Spec, stdio runtime.Stdio) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	p := spec.Process
	c := Call{ID: id, Args: p.Args, Env: p.Env, Cwd: p.Cwd, UID: p.User.UID, GID: p.User.GID,
		Rootfs: spec.Root.Path, Mounts: spec.Mounts}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	if f.Hook != nil {
		if handled, code, err := f.Hook(ctx, c); handled {
			return code, err
		}
	}
	for _, cmd := range split(c.Script()) {
		code, err := run(ctx, c, cmd, stdio)
		if err != nil || code != 0 {
			return code, err
		}
	}
	return 0, nil
}

func split(script string) []string {
	var out []string
	for _, line := range strings.Split(script, "\n") {
		for _, part := range strings.Split(line, "&&") {
			for _, cmd := range strings.Split(part, ";") {
				if cmd = strings.TrimSpace(cmd); cmd != "" {
					out = append(out, cmd)
				}
			}
		}
	}
	return out
}

func run(ctx context.Context, c Call, cmd string, stdio runtime.Stdio) (int, error) {
	words := strings.Fields(cmd)
	path := func(p string) string {
		if !filepath.IsAbs(p) {
			p = filepath.Join(c.Cwd, p)
		}
		return filepath.Join(c.Rootfs, p)
	}
	switch words[0] {
	case "true":
		return 0, nil
	case "exit":
		n, _ := strconv.Atoi(words[1])
		return n, nil
	case "block":
		<-ctx.Done()
		return -1, ctx.Err()
	case "mkdir":
		return 0, os.MkdirAll(path(words[len(words)-1]), 0o755)
	case "rm":
		return 0, os.RemoveAll(path(words[len(words)-1]))
	case "echo", "env":
		text := strings.Join(words[1:], " ")
		if words[0] == "env" {
			env := append([]string(nil), c.Env...)
			sort.Strings(env)
			text = strings.Join(env, "\n")
		}
		for _, op := range []string{">>", ">"} {
			if i := strings.Index(cmd, " "+op+" "); i >= 0 {
				if words[0] == "echo" {
					text = strings.TrimSpace(cmd[len("echo"):i])
				}
				dest := path(strings.TrimSpace(cmd[i+len(op)+2:]))
				flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
				if op == ">>" {
					flag = os.O_CREATE | os.O_WRONLY | os.O_APPEND
				}
				fh, err := os.OpenFile(dest, flag, 0o644)
				if err != nil {
					return 1, nil
				}
				_, err = fmt.Fprintln(fh, text)
				fh.Close()
				return 0, err
			}
		}
		if stdio.Stdout != nil {
			fmt.Fprintln(stdio.Stdout, text)
		}
		return 0, nil
	}
	if stdio.Stderr != nil {
		fmt.Fprintf(stdio.Stderr, "fake: %s: not found\n", words[0])
	}
	return 127, nil
}
