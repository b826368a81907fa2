package dockerfile

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// MaxExpansion is how many bytes of variable values one word may take in
// when it is expanded. Without a bound, ARGs that each repeat the one
// before grow exponentially (ten ARGs of "$a$a$a…" make gigabytes) and end
// the process out of memory; no real value comes near it (Linux refuses a
// single environment string over 128 KiB).
const MaxExpansion = 4 << 20

// MaxTotalExpansion bounds the values all expansions of one lexer (one
// stage of a build, one check of a Dockerfile) take in together, so that
// many ENVs each repeating a large value cannot exhaust memory either.
const MaxTotalExpansion = 64 << 20

// ErrExpansionLimit is what an expansion past MaxExpansion matches with
// errors.Is.
var ErrExpansionLimit = errors.New("variable expansion too large")

// Lex is BuildKit's shell lexer (variable expansion and word splitting of
// Dockerfile instructions) with each expansion bounded by MaxExpansion.
type Lex struct {
	*shell.Lex
	total atomic.Int64 // bytes of values taken in by all expansions
}

// NewLex returns a lexer for a Dockerfile with the given escape token.
func NewLex(escape rune) *Lex { return &Lex{Lex: shell.NewLex(escape)} }

// ProcessWord expands word in env, as shell.Lex.ProcessWord.
func (l *Lex) ProcessWord(word string, env shell.EnvGetter) (string, map[string]struct{}, error) {
	b := &boundedEnv{env: env, lex: l}
	out, unmatched, err := l.Lex.ProcessWord(word, b)
	return out, unmatched, b.check(word, err)
}

// ProcessWordWithMatches expands word in env, as
// shell.Lex.ProcessWordWithMatches.
func (l *Lex) ProcessWordWithMatches(word string, env shell.EnvGetter) (shell.ProcessWordResult, error) {
	b := &boundedEnv{env: env, lex: l}
	res, err := l.Lex.ProcessWordWithMatches(word, b)
	return res, b.check(word, err)
}

// ProcessWords expands and splits word in env, as shell.Lex.ProcessWords.
func (l *Lex) ProcessWords(word string, env shell.EnvGetter) ([]string, error) {
	b := &boundedEnv{env: env, lex: l}
	out, err := l.Lex.ProcessWords(word, b)
	return out, b.check(word, err)
}

// boundedEnv counts the bytes of the values the lexer takes from env and,
// past MaxExpansion, gives it empty values (so memory stays bounded) and
// remembers to fail.
type boundedEnv struct {
	env   shell.EnvGetter
	lex   *Lex
	n     int
	over  string
	total bool // the lexer's total, not this word, went over
}

func (b *boundedEnv) Get(k string) (string, bool) {
	if b.env == nil {
		return "", false
	}
	v, ok := b.env.Get(k)
	if b.over != "" {
		return "", ok
	}
	b.n += len(v)
	if t := b.lex.total.Add(int64(len(v))); t > MaxTotalExpansion {
		b.over, b.total = k, true
		return "", ok
	}
	if b.n > MaxExpansion {
		b.over = k
		return "", ok
	}
	return v, ok
}

func (b *boundedEnv) Keys() []string {
	if b.env == nil {
		return nil
	}
	return b.env.Keys()
}

func (b *boundedEnv) check(word string, err error) error {
	if b.over == "" {
		return err
	}
	if len(word) > 40 {
		word = word[:40] + "…"
	}
	if b.total {
		return fmt.Errorf("%w: the variables expanded in this stage pass %d MiB in all at %q ($%s)",
			ErrExpansionLimit, MaxTotalExpansion>>20, word, b.over)
	}
	return fmt.Errorf("%w: %q grows past %d MiB when $%s is expanded (each value may repeat the one before: "+
		"a chain of ARGs grows exponentially)", ErrExpansionLimit, word, MaxExpansion>>20, b.over)
}
