package dockerfile

import (
	"errors"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

func TestLexBounds(t *testing.T) {
	lex := NewLex('\\')
	big := strings.Repeat("x", 1<<20)
	env := shell.EnvsFromSlice([]string{"A=" + big, "B=b"})
	if out, _, err := lex.ProcessWord("$A$A$B", env); err != nil || len(out) != 2<<20+1 {
		t.Fatalf("2 MiB word: %d bytes, %v", len(out), err)
	}
	_, _, err := lex.ProcessWord("$A$A$A$A$A", env)
	if !errors.Is(err, ErrExpansionLimit) || !strings.Contains(err.Error(), "$A") {
		t.Errorf("5 MiB word: %v", err)
	}
	if _, err := lex.ProcessWords("$A $A $A $A $A", env); !errors.Is(err, ErrExpansionLimit) {
		t.Errorf("ProcessWords: %v", err)
	}
	// many words, each small enough: the lexer's total ends it
	lex = NewLex('\\')
	var total error
	for i := 0; i < 100 && total == nil; i++ {
		_, total = lex.ProcessWordWithMatches("$A$A", env)
	}
	if !errors.Is(total, ErrExpansionLimit) || !strings.Contains(total.Error(), "in all") {
		t.Errorf("total: %v", total)
	}
	// unset variables and plain words are unaffected
	if res, err := NewLex('\\').ProcessWordWithMatches("${NOPE:-d} $B", env); err != nil || res.Result != "d b" {
		t.Errorf("plain: %q %v", res.Result, err)
	}
}
