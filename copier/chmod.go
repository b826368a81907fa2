package copier

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Chmod is a parsed --chmod: an octal mode, or a symbolic one
// ("u=rwx,g=rx,o=", "a+x", "go-w") applied to each file's own mode as
// chmod(1) does.
type Chmod struct {
	octal   *os.FileMode
	clauses []chmodClause
}

type chmodClause struct {
	who  uint32 // bits the clause may touch (u, g, o masks)
	op   byte   // '+', '-', '='
	perm string // rwxXst
}

// ParseChmod parses a --chmod value.
func ParseChmod(s string) (*Chmod, error) {
	if n, err := strconv.ParseUint(s, 8, 32); err == nil {
		if n > 0o7777 {
			return nil, fmt.Errorf("invalid chmod parameter: %q: it should be between 0 and 07777", s)
		}
		m := chmodMode(os.FileMode(n))
		return &Chmod{octal: &m}, nil
	}
	c := &Chmod{}
	for _, part := range strings.Split(s, ",") {
		i := strings.IndexAny(part, "+-=")
		if i < 0 || strings.Trim(part[:i], "ugoa") != "" || strings.Trim(part[i+1:], "rwxXst") != "" {
			return nil, fmt.Errorf("invalid chmod parameter: %q: want octal (0644) or symbolic (u=rwx,g=rx,o=)", s)
		}
		cl := chmodClause{op: part[i], perm: part[i+1:]}
		who := part[:i]
		if who == "" || strings.Contains(who, "a") {
			who = "ugo"
		}
		for _, w := range who {
			cl.who |= map[rune]uint32{'u': 0o4700, 'g': 0o2070, 'o': 0o1007}[w]
		}
		c.clauses = append(c.clauses, cl)
	}
	return c, nil
}

// Apply returns the mode a file or dir whose current mode is mode gets.
func (c *Chmod) Apply(mode os.FileMode, isDir bool) os.FileMode {
	if c.octal != nil {
		return *c.octal
	}
	m := unixBits(mode)
	for _, cl := range c.clauses {
		var bits uint32
		for _, p := range cl.perm {
			switch p {
			case 'r':
				bits |= 0o444
			case 'w':
				bits |= 0o222
			case 'x':
				bits |= 0o111
			case 'X':
				if isDir || m&0o111 != 0 {
					bits |= 0o111
				}
			case 's':
				bits |= 0o6000
			case 't':
				bits |= 0o1000
			}
		}
		bits &= cl.who
		switch cl.op {
		case '+':
			m |= bits
		case '-':
			m &^= bits
		case '=':
			m = m&^(cl.who&0o777) | bits
		}
	}
	return chmodMode(os.FileMode(m))
}

// unixBits is mode's permission, setuid, setgid and sticky bits as octal.
func unixBits(mode os.FileMode) uint32 {
	m := uint32(mode.Perm())
	if mode&os.ModeSetuid != 0 {
		m |= 0o4000
	}
	if mode&os.ModeSetgid != 0 {
		m |= 0o2000
	}
	if mode&os.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}
