package dockerfile

import (
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// lintEnv is a set of variables as BuildKit's llb.EnvList keeps them: Keys
// lists each key once, in the order of its latest assignment. That order
// decides which "did you mean" suggestion wins a tie.
type lintEnv struct {
	keys []string
	vals map[string]string
}

var _ shell.EnvGetter = (*lintEnv)(nil)

func newLintEnv() *lintEnv { return &lintEnv{vals: map[string]string{}} }

func (e *lintEnv) Get(k string) (string, bool) {
	if e == nil {
		return "", false
	}
	v, ok := e.vals[k]
	return v, ok
}

func (e *lintEnv) Keys() []string {
	if e == nil {
		return nil
	}
	return e.keys
}

// set assigns k, moving it to the end of Keys.
func (e *lintEnv) set(k, v string) {
	if _, ok := e.vals[k]; ok {
		e.keys = slices.DeleteFunc(e.keys, func(s string) bool { return s == k })
	}
	e.keys = append(e.keys, k)
	e.vals[k] = v
}

func (e *lintEnv) clone() *lintEnv {
	c := newLintEnv()
	if e != nil {
		c.keys = slices.Clone(e.keys)
		for k, v := range e.vals {
			c.vals[k] = v
		}
	}
	return c
}

// addImageEnv sets k=v in an image config's env list, in place when k is
// there (BuildKit's addEnv).
func addImageEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key == k {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

func envHas(env []string, k string) bool {
	for _, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key == k {
			return true
		}
	}
	return false
}
