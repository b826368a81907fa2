//go:build conformance

package conformance

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// image is what the comparison needs from a docker-archive tar.
type image struct {
	config map[string]any // the whole config JSON
	layers [][]byte       // uncompressed layer tars, in order
}

func loadDockerArchive(p string) (*image, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	files := map[string][]byte{}
	links := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		name := path.Clean(strings.TrimPrefix(h.Name, "./"))
		switch h.Typeflag {
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			files[name] = b
		case tar.TypeSymlink:
			links[name] = path.Join(path.Dir(name), h.Linkname)
		case tar.TypeLink:
			links[name] = path.Clean(h.Linkname)
		}
	}
	get := func(n string) ([]byte, error) {
		n = path.Clean(n)
		for i := 0; i < 10; i++ {
			if b, ok := files[n]; ok {
				return b, nil
			}
			l, ok := links[n]
			if !ok {
				break
			}
			n = l
		}
		return nil, fmt.Errorf("%s: no %s in the archive", p, n)
	}
	mb, err := get("manifest.json")
	if err != nil {
		return nil, err
	}
	var man []struct {
		Config string
		Layers []string
	}
	if err := json.Unmarshal(mb, &man); err != nil {
		return nil, fmt.Errorf("%s: manifest.json: %w", p, err)
	}
	if len(man) != 1 {
		return nil, fmt.Errorf("%s: %d images in manifest.json, want 1", p, len(man))
	}
	img := &image{}
	cb, err := get(man[0].Config)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(cb, &img.config); err != nil {
		return nil, fmt.Errorf("%s: config: %w", p, err)
	}
	for _, l := range man[0].Layers {
		b, err := get(l)
		if err != nil {
			return nil, err
		}
		u, err := decompress(b)
		if err != nil {
			return nil, fmt.Errorf("%s: layer %s: %w", p, l, err)
		}
		img.layers = append(img.layers, u)
	}
	return img, nil
}

func decompress(b []byte) ([]byte, error) {
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(r)
	case len(b) >= 4 && bytes.Equal(b[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		r, err := zstd.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(r)
	}
	return b, nil
}

// inode is a file's content and metadata; hard links share one.
type inode struct {
	typ      string
	mode     int64
	uid, gid int
	size     int64
	sha      string
	link     string // symlink target
	dev      string
	xattrs   string
	mtime    int64
}

type entry struct {
	ino     *inode
	dangle  string // hard link to a path not in the filesystem
	inLayer int
}

// flatten applies the layers in order (whiteouts, opaque dirs, replacement of dirs by files).
func flatten(layers [][]byte) (map[string]*entry, error) {
	fs := map[string]*entry{}
	removeTree := func(p string, layer int) {
		for k, e := range fs {
			if (k == p || strings.HasPrefix(k, p+"/")) && e.inLayer != layer {
				delete(fs, k)
			}
		}
	}
	for li, l := range layers {
		tr := tar.NewReader(bytes.NewReader(l))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", li, err)
			}
			p := normPath(h.Name)
			dir, base := path.Split(p)
			dir = path.Clean(dir)
			if base == ".wh..wh..opq" {
				for k, e := range fs {
					if strings.HasPrefix(k, strings.TrimSuffix(dir, "/")+"/") && e.inLayer != li {
						delete(fs, k)
					}
				}
				continue
			}
			if strings.HasPrefix(base, ".wh.") {
				removeTree(path.Join(dir, strings.TrimPrefix(base, ".wh.")), li)
				continue
			}
			if p == "/" {
				continue
			}
			if h.Typeflag != tar.TypeDir {
				if old, ok := fs[p]; ok && old.ino.typ == "dir" {
					removeTree(p, -1)
				}
			}
			if h.Typeflag == tar.TypeLink {
				t := normPath(h.Linkname)
				if tgt, ok := fs[t]; ok {
					fs[p] = &entry{ino: tgt.ino, inLayer: li}
				} else {
					fs[p] = &entry{ino: &inode{typ: "hardlink"}, dangle: t, inLayer: li}
				}
				continue
			}
			n := &inode{mode: h.Mode & 0o7777, uid: h.Uid, gid: h.Gid, mtime: h.ModTime.Unix()}
			switch h.Typeflag {
			case tar.TypeReg, tar.TypeRegA:
				n.typ = "file"
				hs := sha256.New()
				sz, err := io.Copy(hs, tr)
				if err != nil {
					return nil, err
				}
				n.size, n.sha = sz, hex.EncodeToString(hs.Sum(nil))[:16]
			case tar.TypeDir:
				n.typ = "dir"
			case tar.TypeSymlink:
				n.typ, n.link = "symlink", h.Linkname
			case tar.TypeChar:
				n.typ, n.dev = "char", fmt.Sprintf("%d:%d", h.Devmajor, h.Devminor)
			case tar.TypeBlock:
				n.typ, n.dev = "block", fmt.Sprintf("%d:%d", h.Devmajor, h.Devminor)
			case tar.TypeFifo:
				n.typ = "fifo"
			default:
				n.typ = fmt.Sprintf("type%c", h.Typeflag)
			}
			var xs []string
			for k, v := range h.PAXRecords {
				if strings.HasPrefix(k, "SCHILY.xattr.") {
					xs = append(xs, strings.TrimPrefix(k, "SCHILY.xattr.")+"="+fmt.Sprintf("%q", v))
				}
			}
			sort.Strings(xs)
			n.xattrs = strings.Join(xs, " ")
			fs[p] = &entry{ino: n, inLayer: li}
		}
	}
	return fs, nil
}

func normPath(p string) string {
	p = strings.TrimPrefix(p, "./")
	return path.Clean("/" + p)
}

// fsView is one path's comparable attributes, as ordered (name, value) pairs.
func fsView(fs map[string]*entry, mtimes bool) map[string][][2]string {
	groups := map[*inode][]string{}
	for p, e := range fs {
		groups[e.ino] = append(groups[e.ino], p)
	}
	out := map[string][][2]string{}
	for p, e := range fs {
		n := e.ino
		v := [][2]string{{"type", n.typ}}
		if e.dangle != "" {
			v = append(v, [2]string{"hardlink", "(dangling) " + e.dangle})
			out[p] = v
			continue
		}
		v = append(v, [2]string{"mode", fmt.Sprintf("%04o", n.mode)},
			[2]string{"uid", fmt.Sprint(n.uid)}, [2]string{"gid", fmt.Sprint(n.gid)})
		switch n.typ {
		case "file":
			v = append(v, [2]string{"size", fmt.Sprint(n.size)}, [2]string{"sha256", n.sha})
		case "symlink":
			v = append(v, [2]string{"link", n.link})
		case "char", "block":
			v = append(v, [2]string{"dev", n.dev})
		}
		if n.xattrs != "" {
			v = append(v, [2]string{"xattrs", n.xattrs})
		}
		if g := groups[n]; len(g) > 1 {
			var others []string
			for _, o := range g {
				if o != p {
					others = append(others, o)
				}
			}
			sort.Strings(others)
			v = append(v, [2]string{"hardlinks", strings.Join(others, ",")})
		}
		if mtimes {
			v = append(v, [2]string{"mtime", fmt.Sprint(n.mtime)})
		}
		out[p] = v
	}
	return out
}

func jsonString(v any) string {
	if v == nil {
		return "(absent)"
	}
	b, _ := json.Marshal(v) // maps marshal with sorted keys
	return string(b)
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// compareImages returns readable differences between the reference and kiln's image.
func compareImages(t *testing.T, c tcase, refTar, kilnTar string) []string {
	ref, err := loadDockerArchive(refTar)
	if err != nil {
		t.Fatalf("reference image: %v", err)
	}
	kil, err := loadDockerArchive(kilnTar)
	if err != nil {
		return []string{fmt.Sprintf("kiln image unreadable: %v", err)}
	}
	var diffs []string
	field := func(name string, kv, rv any) {
		k, r := jsonString(kv), jsonString(rv)
		if k != r {
			diffs = append(diffs, fmt.Sprintf("%s:\n    kiln: %s\n    ref : %s", name, k, r))
		}
	}
	_, sde := buildArgsHas(c, "SOURCE_DATE_EPOCH")
	if c.spec.Timestamps != nil {
		sde = *c.spec.Timestamps
	}

	// top level
	for _, f := range []string{"architecture", "os", "variant", "os.version", "author"} {
		field(f, kil.config[f], ref.config[f])
	}
	if sde {
		field("created", kil.config["created"], ref.config["created"])
	}
	// config: the fields the issue names, then anything else either side has
	kc, rc := asMap(kil.config["config"]), asMap(ref.config["config"])
	named := []string{"Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes",
		"Labels", "StopSignal", "Healthcheck", "Shell", "OnBuild", "ArgsEscaped"}
	seen := map[string]bool{}
	for _, f := range named {
		seen[f] = true
		field("config."+f, kc[f], rc[f])
	}
	var extra []string
	for k := range kc {
		if !seen[k] {
			extra = append(extra, k)
			seen[k] = true
		}
	}
	for k := range rc {
		if !seen[k] {
			extra = append(extra, k)
			seen[k] = true
		}
	}
	sort.Strings(extra)
	for _, f := range extra {
		field("config."+f, kc[f], rc[f])
	}

	// history (no timestamps unless SOURCE_DATE_EPOCH)
	hist := func(cfg map[string]any) []map[string]any {
		hs, _ := cfg["history"].([]any)
		var out []map[string]any
		for _, h := range hs {
			m := map[string]any{}
			for k, v := range asMap(h) {
				if k == "created" && !sde {
					continue
				}
				if k == "empty_layer" && v == false {
					continue
				}
				m[k] = v
			}
			out = append(out, m)
		}
		return out
	}
	kh, rh := hist(kil.config), hist(ref.config)
	if len(kh) != len(rh) {
		diffs = append(diffs, fmt.Sprintf("history length: kiln %d, ref %d", len(kh), len(rh)))
	}
	for i := 0; i < len(kh) || i < len(rh); i++ {
		var a, b any
		if i < len(kh) {
			a = kh[i]
		}
		if i < len(rh) {
			b = rh[i]
		}
		field(fmt.Sprintf("history[%d]", i), a, b)
	}

	// layers
	kd, _ := asMap(kil.config["rootfs"])["diff_ids"].([]any)
	rd, _ := asMap(ref.config["rootfs"])["diff_ids"].([]any)
	if len(kil.layers) != len(ref.layers) || len(kd) != len(rd) {
		diffs = append(diffs, fmt.Sprintf("layer count: kiln %d (diff_ids %d), ref %d (diff_ids %d)",
			len(kil.layers), len(kd), len(ref.layers), len(rd)))
	}

	// flattened filesystem
	kfs, err := flatten(kil.layers)
	if err != nil {
		return append(diffs, fmt.Sprintf("kiln layers unreadable: %v", err))
	}
	rfs, err := flatten(ref.layers)
	if err != nil {
		t.Fatalf("reference layers: %v", err)
	}
	mt := sde && c.spec.RewriteTimestamp
	if c.spec.Timestamps != nil && *c.spec.Timestamps {
		mt = true // e.g. what WORKDIR creates under SOURCE_DATE_EPOCH without rewrite-timestamp
	}
	kv, rv := fsView(kfs, mt), fsView(rfs, mt)
	var paths []string
	for p := range kv {
		paths = append(paths, p)
	}
	for p := range rv {
		if _, ok := kv[p]; !ok {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	var fsd []string
	for _, p := range paths {
		a, aok := kv[p]
		b, bok := rv[p]
		switch {
		case !aok:
			fsd = append(fsd, fmt.Sprintf("only in ref : %s %s", p, attrs(b)))
		case !bok:
			fsd = append(fsd, fmt.Sprintf("only in kiln: %s %s", p, attrs(a)))
		default:
			if d := attrDiff(a, b); d != "" {
				fsd = append(fsd, fmt.Sprintf("differs     : %s: %s", p, d))
			}
		}
	}
	// informational: which paths each layer carries (equal flattened results can hide a layer
	// that also holds unchanged copies, e.g. overlay copy-ups); logged, not failed
	if len(kil.layers) == len(ref.layers) {
		for i := range kil.layers {
			onlyK, onlyR := diffSets(layerPaths(kil.layers[i]), layerPaths(ref.layers[i]))
			if len(onlyK)+len(onlyR) > 0 {
				t.Logf("note: layer %d entries differ (not compared): only kiln %v, only ref %v", i, onlyK, onlyR)
			}
		}
	}
	if len(fsd) > 0 {
		n := len(fsd)
		if n > 60 {
			fsd = append(fsd[:60], fmt.Sprintf("... and %d more", n-60))
		}
		diffs = append(diffs, fmt.Sprintf("filesystem (%d differences):\n%s", n, indent(strings.Join(fsd, "\n"))))
	}
	return diffs
}

func layerPaths(l []byte) map[string]bool {
	m := map[string]bool{}
	tr := tar.NewReader(bytes.NewReader(l))
	for {
		h, err := tr.Next()
		if err != nil {
			return m
		}
		m[normPath(h.Name)] = true
	}
}

func buildArgsHas(c tcase, k string) (string, bool) {
	v, ok := c.spec.BuildArgs[k]
	return v, ok
}

func attrs(v [][2]string) string {
	var s []string
	for _, kv := range v {
		s = append(s, kv[0]+"="+kv[1])
	}
	return strings.Join(s, " ")
}

func attrDiff(a, b [][2]string) string {
	am, bm := map[string]string{}, map[string]string{}
	var keys []string
	for _, kv := range a {
		am[kv[0]] = kv[1]
		keys = append(keys, kv[0])
	}
	for _, kv := range b {
		if _, ok := am[kv[0]]; !ok {
			keys = append(keys, kv[0])
		}
		bm[kv[0]] = kv[1]
	}
	var d []string
	for _, k := range keys {
		if am[k] != bm[k] {
			d = append(d, fmt.Sprintf("%s kiln=%s ref=%s", k, orNone(am[k]), orNone(bm[k])))
		}
	}
	return strings.Join(d, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// TestCompareTars compares two docker-archive tars given as KILN_CONFORMANCE_COMPARE=REF.tar,KILN.tar
// (a debugging aid: go test -tags conformance -run TestCompareTars ./conformance/).
func TestCompareTars(t *testing.T) {
	v := os.Getenv("KILN_CONFORMANCE_COMPARE")
	if v == "" {
		t.Skip("set KILN_CONFORMANCE_COMPARE=REF.tar,KILN.tar")
	}
	ref, kil, _ := strings.Cut(v, ",")
	for _, d := range compareImages(t, tcase{}, ref, kil) {
		t.Error(d)
	}
}
