package attest

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Package is one piece of software an image holds, as the SBOM lists it.
type Package struct {
	Type     string // "deb", "apk" or "golang"
	Name     string
	Version  string
	Arch     string // deb and apk packages
	Source   string // the source package (deb Source, apk origin) when it differs from Name
	Supplier string // deb Maintainer, apk maintainer
	License  string // apk's license field
	Location string // the file it was found in: /var/lib/dpkg/status, /usr/local/bin/app
	PURL     string
	// Module is set on a Go binary's packages: the main module's name for
	// its dependencies and the Go standard library ("" on the main
	// module itself), so the SBOM says what the binary depends on.
	Module string
}

// Files the cataloguer reads, and what they are.
const (
	dpkgStatus    = "/var/lib/dpkg/status"
	dpkgStatusDir = "/var/lib/dpkg/status.d/"
	maxDBBytes    = 64 << 20 // larger package databases are not read
)

var (
	apkDBs     = []string{"/lib/apk/db/installed", "/usr/lib/apk/db/installed"}
	osReleases = []string{"/etc/os-release", "/usr/lib/os-release"}
)

// finding is what one file of the image gave the cataloguer: the content
// of a package database or os-release, or a Go binary's build info.
type finding struct {
	data []byte
	bi   *buildinfo.BuildInfo
}

// Catalog finds the packages in an image's filesystem: dpkg's status
// (and distroless status.d files), apk's installed database, and Go
// binaries by their embedded build info. Feed it the image's layers bottom
// first (Layer: whiteouts and replaced files take away what lower layers
// had), or the files of one merged filesystem (Files); then Packages.
type Catalog struct {
	found map[string]*finding // by path, the final filesystem so far
	dirs  map[string]int      // how many findings are below each directory
	head  []byte
	buf   bytes.Buffer
}

// NewCatalog makes an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{found: map[string]*finding{}, dirs: map[string]int{}, head: make([]byte, 4)}
}

// Layer reads one layer, an uncompressed OCI layer tar, over the layers
// read before it.
func (c *Catalog) Layer(ctx context.Context, r io.Reader) error {
	l := c.newLayer()
	tr := tar.NewReader(r)
	for i := 0; ; i++ {
		if i%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("attest: reading layer: %w", err)
		}
		p := path.Clean("/" + h.Name)
		dir, base := path.Split(p)
		switch {
		case base == ".wh..wh..opq":
			c.removeBelow(path.Clean(dir))
			continue
		case strings.HasPrefix(base, ".wh."):
			gone := path.Join(dir, base[len(".wh."):])
			c.remove(gone)
			c.removeBelow(gone)
			continue
		}
		if err := l.entry(p, h.FileInfo().Mode(), h.Size, tr); err != nil {
			return fmt.Errorf("attest: reading %s: %w", p, err)
		}
	}
	c.merge(l)
	return nil
}

// Files starts reading a merged filesystem (a directory, a flat tar):
// pass each of its entries to File, then call the returned done.
func (c *Catalog) Files() (file func(p string, mode fs.FileMode, size int64, r io.Reader) error, done func()) {
	l := c.newLayer()
	return func(p string, mode fs.FileMode, size int64, r io.Reader) error {
		return l.entry(path.Clean("/"+p), mode, size, r)
	}, func() { c.merge(l) }
}

// layer is what one layer (or merged filesystem) being read gives.
type layer struct {
	c     *Catalog
	found map[string]*finding
}

func (c *Catalog) newLayer() *layer { return &layer{c: c, found: map[string]*finding{}} }

// entry takes one file of the layer: it hides what lower layers had at
// its path (and below, unless it is a directory), and is kept if it is
// a file the cataloguer reads.
func (l *layer) entry(p string, mode fs.FileMode, size int64, r io.Reader) error {
	l.c.remove(p)
	if !mode.IsDir() {
		l.c.removeBelow(p)
	}
	if !mode.IsRegular() || size == 0 {
		return nil
	}
	if isDB(p) {
		if size > maxDBBytes {
			return nil
		}
		data, err := io.ReadAll(io.LimitReader(r, size))
		if err != nil {
			return err
		}
		l.found[p] = &finding{data: data}
		return nil
	}
	if mode&0o111 == 0 || size > MaxGoBinary {
		return nil
	}
	n, err := io.ReadFull(r, l.c.head)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		return err
	}
	bi, err := ReadGoBuildInfo(mode, size, l.c.head[:n], r, &l.c.buf)
	if err != nil {
		return err
	}
	if bi != nil {
		l.found[p] = &finding{bi: bi}
	}
	return nil
}

func isDB(p string) bool {
	if p == dpkgStatus || strings.HasPrefix(p, dpkgStatusDir) && !strings.Contains(p[len(dpkgStatusDir):], "/") &&
		!strings.HasSuffix(p, ".md5sums") {
		return true
	}
	for _, q := range append(apkDBs, osReleases...) {
		if p == q {
			return true
		}
	}
	return false
}

// merge puts what the layer found over what lower layers left.
func (c *Catalog) merge(l *layer) {
	for p, f := range l.found {
		c.remove(p)
		c.found[p] = f
		for d := path.Dir(p); ; d = path.Dir(d) {
			c.dirs[d]++
			if d == "/" {
				break
			}
		}
	}
}

func (c *Catalog) remove(p string) {
	if _, ok := c.found[p]; !ok {
		return
	}
	delete(c.found, p)
	for d := path.Dir(p); ; d = path.Dir(d) {
		if c.dirs[d]--; c.dirs[d] <= 0 {
			delete(c.dirs, d)
		}
		if d == "/" {
			break
		}
	}
}

// removeBelow drops what lower layers had below the directory dir.
func (c *Catalog) removeBelow(dir string) {
	if c.dirs[dir] == 0 {
		return
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	for p := range c.found {
		if strings.HasPrefix(p, prefix) {
			c.remove(p)
		}
	}
}

// MaxGoBinary is the largest executable searched for Go build info.
const MaxGoBinary = 128 << 20

// ReadGoBuildInfo returns the Go build info of an executable file: head
// is its first bytes, r yields the rest, buf is scratch space reused
// between calls. It returns nil (and no error) for a file that is not an
// executable ELF file of at most MaxGoBinary bytes, or not a Go program.
func ReadGoBuildInfo(mode fs.FileMode, size int64, head []byte, r io.Reader, buf *bytes.Buffer) (*buildinfo.BuildInfo, error) {
	if mode&0o111 == 0 || size > MaxGoBinary || !bytes.HasPrefix(head, []byte("\x7fELF")) {
		return nil, nil
	}
	buf.Reset()
	buf.Write(head)
	if _, err := io.Copy(buf, r); err != nil {
		return nil, err
	}
	bi, err := buildinfo.Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, nil // not a Go binary
	}
	return bi, nil
}

// Packages lists what the catalog found, sorted (by type, name, version,
// location), each with its package URL.
func (c *Catalog) Packages() []Package {
	distro := parseOSRelease(c.first(osReleases))
	var out []Package
	for _, p := range sortedKeys(c.found) {
		f := c.found[p]
		switch {
		case f.bi != nil:
			out = append(out, goPackages(p, f.bi)...)
		case p == dpkgStatus || strings.HasPrefix(p, dpkgStatusDir):
			out = append(out, dpkgDB.packages(p, f.data, distro)...)
		case isAPKDB(p):
			out = append(out, apkDB.packages(p, f.data, distro)...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return a.Location < b.Location
	})
	return dedupePackages(out)
}

func (c *Catalog) first(paths []string) []byte {
	for _, p := range paths {
		if f := c.found[p]; f != nil {
			return f.data
		}
	}
	return nil
}

func isAPKDB(p string) bool {
	for _, q := range apkDBs {
		if p == q {
			return true
		}
	}
	return false
}

func dedupePackages(ps []Package) []Package {
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p == ps[i-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}
