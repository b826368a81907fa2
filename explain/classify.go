package explain

import (
	"archive/tar"
	"bytes"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/kiln-build/kiln/attest"
)

// factKind is what kind of thing a scan found in a layer.
type factKind string

const (
	factToolchain factKind = "toolchain" // a compiler or build tool
	factCache     factKind = "cache"     // a package-manager or compiler cache
	factVCS       factKind = "vcs"       // VCS metadata (.git)
	factSecret    factKind = "secret"    // a private key or credentials file
)

// fact is one thing a scan found: a toolchain, cache or VCS directory
// (Path is its root) or a secret file, with the content bytes and files
// at or below Path in the layer. Evidence lists the files that gave it
// away, with what they are ("/usr/local/go/bin/go (cmd/go)").
type fact struct {
	Kind     factKind `json:"kind"`
	What     string   `json:"what"`
	Path     string   `json:"path"`
	Bytes    int64    `json:"bytes"`
	Files    int      `json:"files"`
	Evidence []string `json:"evidence,omitempty"`

	// A toolchain's root is the first of cands that has one of marks
	// below it in the layer (decided once the layer is read), else file.
	cands, marks []string
	file         string
}

const (
	headBytes   = 512      // read from every file to tell its kind
	secretBytes = 64 << 10 // read from a file that may hold a key
)

var (
	elfMagic  = []byte("\x7fELF")
	pemBegin  = []byte("-----BEGIN ")
	privKeyRE = regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----`)
	cacheSet  = newPatternSet(cachePatterns)
)

// classifier looks at each file of a layer once, as the tar goes by.
type classifier struct {
	facts []*fact
	seen  map[string]*fact
	head  []byte
	buf   bytes.Buffer
}

func newClassifier() *classifier {
	return &classifier{head: make([]byte, headBytes), seen: make(map[string]*fact)}
}

// file classifies the regular file p whose content r yields.
func (c *classifier) file(p string, h *tar.Header, r io.Reader) error {
	dirs := strings.Split(strings.Trim(path.Dir(p), "/"), "/")
	if dirs[0] == "" {
		dirs = nil
	}
	if root, what, ok := cacheSet.match(dirs); ok {
		c.add(&fact{Kind: factCache, What: what, Path: root})
		return nil
	}
	for i, d := range dirs {
		if what, ok := vcsDirs[d]; ok {
			c.add(&fact{Kind: factVCS, What: what, Path: "/" + strings.Join(dirs[:i+1], "/")})
			return nil
		}
	}
	name := path.Base(p)
	if what, ok := vcsDirs[name]; ok { // a .git file: a worktree's or submodule's pointer
		c.add(&fact{Kind: factVCS, What: what, Path: p})
		return nil
	}
	for i := 0; i+1 < len(dirs); i++ {
		if dirs[i] == "node_modules" && dirs[i+1] == "node-gyp" {
			c.add(&fact{Kind: factToolchain, What: "node-gyp", Path: "/" + strings.Join(dirs[:i+2], "/")})
			return nil
		}
	}
	n, err := io.ReadFull(r, c.head[:min(h.Size, headBytes)])
	if err != nil {
		return err
	}
	head := c.head[:n]
	if bytes.HasPrefix(head, elfMagic) {
		return c.elf(p, h, head, r)
	}
	return c.secret(p, dirs, head, r)
}

// elf tells a toolchain binary from any other: a Go binary by its build
// info (the Go toolchain's commands are built as "cmd/…"), others by name.
func (c *classifier) elf(p string, h *tar.Header, head []byte, r io.Reader) error {
	name := path.Base(p)
	bi, err := attest.ReadGoBuildInfo(h.FileInfo().Mode(), h.Size, head, r, &c.buf)
	if err != nil {
		return err
	}
	if bi != nil {
		if strings.HasPrefix(bi.Path, "cmd/") && (bi.Main.Path == "" || bi.Main.Path == "cmd") {
			c.addTool(p, "Go toolchain", bi.Path, []int{2, 4}, "src/runtime", "pkg/tool", "VERSION")
		}
		return nil // a Go program is never a toolchain by its name alone
	}
	if t, ok := toolByName(name); ok {
		switch {
		case t.gcc && strings.Contains(p, "/gcc/"):
			c.addTool(p, t.what, name, []int{1})
		case len(t.markers) > 0:
			c.addTool(p, t.what, name, []int{2}, t.markers...)
		default:
			c.addTool(p, t.what, name, nil)
		}
	}
	return nil
}

type tool struct {
	what    string
	gcc     bool     // GCC's internal programs live in …/gcc/TRIPLE/VERSION/
	markers []string // below the directory above bin/
}

var (
	gccInternal = map[string]bool{"cc1": true, "cc1plus": true, "cc1obj": true, "cc1objplus": true, "lto1": true,
		"f951": true, "collect2": true, "lto-wrapper": true, "go1": true}
	// gcc, g++, gcc-12, x86_64-linux-gnu-gcc-12, clang-16, …
	compilerRE = regexp.MustCompile(`^([a-z0-9_]+-)*(gcc|g\+\+|c\+\+|cc|clang|clang\+\+|gfortran|gccgo)(-[0-9.]+)?$`)
)

func toolByName(name string) (tool, bool) {
	switch {
	case gccInternal[name]:
		return tool{what: "GCC", gcc: true}, true
	case compilerRE.MatchString(name):
		if strings.Contains(name, "clang") {
			return tool{what: "Clang"}, true
		}
		return tool{what: "GCC"}, true
	case name == "javac":
		return tool{what: "JDK (javac)", markers: []string{"lib/modules", "jmods", "release"}}, true
	case name == "rustc" || name == "cargo" || strings.HasPrefix(name, "librustc_driver-"):
		return tool{what: "Rust toolchain", markers: []string{"lib/rustlib"}}, true
	}
	return tool{}, false
}

// addTool records a toolchain found by the file p. Its root is the
// directory levels[i] above p that has one of markers below it (checked
// when the layer is read whole), else p itself.
func (c *classifier) addTool(p, what, detail string, levels []int, markers ...string) {
	f := &fact{Kind: factToolchain, What: what, Path: p, Evidence: []string{p + " (" + detail + ")"}, file: p}
	for _, up := range levels {
		cand := p
		for i := 0; i < up; i++ {
			cand = path.Dir(cand)
		}
		if cand == "/" {
			continue
		}
		if len(markers) == 0 {
			f.Path = cand
			break
		}
		f.cands = append(f.cands, cand)
	}
	f.marks = markers
	if len(f.cands) > 0 {
		f.Path = "" // decided by resolve, when the whole layer is known
	}
	c.add(f)
}

// secret finds private keys by their PEM header or SSH key name, and
// credentials files (.env, .netrc, …) by name and content.
func (c *classifier) secret(p string, dirs []string, head []byte, r io.Reader) error {
	for _, d := range dirs {
		if notSecretDirs[d] {
			return nil
		}
	}
	name := path.Base(p)
	parent := path.Base(path.Dir(p))
	if bytes.HasPrefix(bytes.TrimLeft(head, " \t\r\n"), pemBegin) {
		body, err := c.more(head, r)
		if err != nil {
			return err
		}
		if m := privKeyRE.FindSubmatch(body); m != nil {
			c.add(&fact{Kind: factSecret, What: pemKeyKind(string(m[1])), Path: p})
			return nil
		}
	}
	switch {
	case sshKeyNames[name]:
		c.add(&fact{Kind: factSecret, What: "SSH private key", Path: p})
		return nil
	case envFile(name):
		c.add(&fact{Kind: factSecret, What: "dotenv file", Path: p})
		return nil
	}
	marker, ok := credentialFiles[name]
	if !ok || name == "credentials" && parent != ".aws" || name == "config.json" && parent != ".docker" {
		return nil
	}
	if marker != "" {
		body, err := c.more(head, r)
		if err != nil {
			return err
		}
		if !bytes.Contains(body, []byte(marker)) {
			return nil
		}
	}
	c.add(&fact{Kind: factSecret, What: "credentials file", Path: p})
	return nil
}

// pemKeyKind names a key by the word before PRIVATE KEY in its header.
func pemKeyKind(alg string) string {
	switch alg = strings.TrimSpace(alg); alg {
	case "":
		return "private key (PKCS #8)"
	case "ENCRYPTED":
		return "private key (encrypted PKCS #8)"
	case "PGP":
		return "PGP private key"
	case "OPENSSH":
		return "OpenSSH private key"
	}
	return "private key (" + alg + ")"
}

// more returns the first secretBytes of a file whose head was read.
func (c *classifier) more(head []byte, r io.Reader) ([]byte, error) {
	c.buf.Reset()
	c.buf.Write(head)
	if _, err := io.CopyN(&c.buf, r, secretBytes-int64(len(head))); err != nil && err != io.EOF {
		return nil, err
	}
	return c.buf.Bytes(), nil
}

// add merges f into the fact with the same kind, description and root.
func (c *classifier) add(f *fact) {
	if f.Path != "" {
		k := f.key()
		if g := c.seen[k]; g != nil {
			g.merge(f)
			return
		}
		c.seen[k] = f
	}
	c.facts = append(c.facts, f)
}

func (f *fact) key() string { return string(f.Kind) + "\x00" + f.What + "\x00" + f.Path }

func (f *fact) merge(g *fact) {
	for _, e := range g.Evidence {
		if len(f.Evidence) < maxEvidence {
			f.Evidence = append(f.Evidence, e)
		}
	}
}

const maxEvidence = 8
