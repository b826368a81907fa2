package attest

import (
	"bufio"
	"bytes"
	"debug/buildinfo"
	"strings"
)

// distro is what os-release says of the image's distribution: its ID
// (debian, ubuntu, alpine, …) and VERSION_ID, for package URLs.
type distro struct{ id, version string }

func parseOSRelease(data []byte) distro {
	var d distro
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		v = strings.Trim(v, `"'`)
		switch k {
		case "ID":
			d.id = v
		case "VERSION_ID":
			d.version = v
		}
	}
	return d
}

// qualifier is the purl distro qualifier: "debian-12", "alpine-3.20.3".
func (d distro) qualifier() string {
	if d.id == "" || d.version == "" {
		return d.id
	}
	return d.id + "-" + d.version
}

// namespace is the purl namespace of the distribution's packages, or def.
func (d distro) namespace(def string) string {
	if d.id != "" {
		return d.id
	}
	return def
}

// paragraphs splits a dpkg or apk database into its stanzas, each a list
// of "Key: value" (or apk's "K:value") fields; dpkg's continuation lines
// (starting with a space) are dropped. sep is ": " for dpkg, ":" for apk.
func paragraphs(data []byte, sep string) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
			cur = map[string]string{}
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.TrimSpace(line) == "":
			flush()
		case line[0] == ' ' || line[0] == '\t':
		default:
			if k, v, ok := strings.Cut(line, sep); ok {
				cur[strings.TrimSpace(k)] = strings.TrimSpace(v)
			} else if k, ok := strings.CutSuffix(line, ":"); ok && sep == ": " {
				cur[k] = "" // "Description:" with its text on continuation lines
			}
		}
	}
	flush()
	return out
}

// database names the fields of a package database: dpkg's status file
// (or a distroless status.d file) and apk's installed database.
type database struct {
	typ, sep, namespace                          string // purl type, field separator, default purl namespace
	name, version, arch, supplier, license, from string // field names; from: the source package
	// status, when set, is the field that must end in " installed"
	// (dpkg keeps removed and half-installed packages too)
	status string
}

var (
	dpkgDB = database{typ: "deb", sep: ": ", namespace: "debian", name: "Package", version: "Version", arch: "Architecture",
		supplier: "Maintainer", from: "Source", status: "Status"}
	apkDB = database{typ: "apk", sep: ":", namespace: "alpine", name: "P", version: "V", arch: "A", supplier: "m",
		license: "L", from: "o"}
)

// packages reads the installed packages of the database's file at loc.
func (db database) packages(loc string, data []byte, d distro) []Package {
	var out []Package
	for _, f := range paragraphs(data, db.sep) {
		name, version := f[db.name], f[db.version]
		if name == "" || version == "" {
			continue
		}
		if st, ok := f[db.status]; ok && db.status != "" && !strings.HasSuffix(st, " installed") {
			continue // removed, half-installed, config-files only
		}
		p := Package{Type: db.typ, Name: name, Version: version, Arch: f[db.arch], Supplier: f[db.supplier], Location: loc}
		if db.license != "" {
			p.License = f[db.license]
		}
		// dpkg's "Source: glibc (2.36-9)" names the source and its version
		if src, _, _ := strings.Cut(f[db.from], " "); src != "" && src != name {
			p.Source = src
		}
		p.PURL = purl(db.typ, d.namespace(db.namespace), name, version, qualifier{"arch", p.Arch},
			qualifier{"distro", d.qualifier()}, qualifier{"upstream", p.Source})
		out = append(out, p)
	}
	return out
}

// goPackages are a Go binary's main module, the modules it was built
// with (as replaced), and the standard library of its Go version.
func goPackages(loc string, bi *buildinfo.BuildInfo) []Package {
	main := bi.Main.Path
	if main == "" {
		main = bi.Path // a program built from files, or GOPATH mode
	}
	if main == "" {
		return nil
	}
	mainPkg := goPackage(loc, main, bi.Main.Version, "")
	if goV, ok := strings.CutPrefix(bi.GoVersion, "go"); ok && mainPkg.Version == "" && strings.HasPrefix(main, "cmd/") {
		// the Go distribution's own commands are of its version
		goV, _, _ = strings.Cut(goV, " ")
		mainPkg.Version, mainPkg.PURL = "go"+goV, purl("golang", "cmd", strings.TrimPrefix(main, "cmd/"), goV)
	}
	out := []Package{mainPkg}
	for _, m := range bi.Deps {
		if m.Replace != nil {
			m = m.Replace
		}
		out = append(out, goPackage(loc, m.Path, m.Version, main))
	}
	if v, ok := strings.CutPrefix(bi.GoVersion, "go"); ok {
		v, _, _ = strings.Cut(v, " ") // "go1.26.0 X:boringcrypto"
		p := goPackage(loc, "stdlib", "go"+v, main)
		p.PURL = purl("golang", "", "stdlib", v)
		out = append(out, p)
	}
	return out
}

func goPackage(loc, mod, version, main string) Package {
	p := Package{Type: "golang", Name: mod, Version: version, Location: loc, Module: main}
	ns, name := "", mod
	if i := strings.LastIndex(mod, "/"); i >= 0 {
		ns, name = mod[:i], mod[i+1:]
	}
	v := version
	if v == "(devel)" {
		v = "" // a local build has no version to name
	}
	p.PURL = purl("golang", ns, name, v)
	return p
}
