package explain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/store"
	"golang.org/x/sync/errgroup"
)

// analysis is one image being explained.
type analysis struct {
	st     *store.Store
	o      *options
	rep    *Report
	rec    *image.Record // nil without a build record
	descs  []v1.Descriptor
	lines  map[string]int // FROM line of each stage, when the record has them
	mu     sync.Mutex
	scans  []*layerScan // nil: not read
	failed []bool       // the layer could not be read
}

func load(st *store.Store, manifest v1.Hash, o *options) (*analysis, error) {
	img, err := st.Image(manifest)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("explain: manifest: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("explain: config: %w", err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("explain: %s has %d layers but %d diff IDs", manifest, len(m.Layers), len(cf.RootFS.DiffIDs))
	}
	a := &analysis{st: st, o: o, descs: m.Layers, scans: make([]*layerScan, len(m.Layers)),
		failed: make([]bool, len(m.Layers))}
	a.rep = &Report{Image: manifest.String(), Digest: manifest.String(), ID: m.Config.Digest.String(),
		Platform: formatPlatform(&v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}),
		Layers:   make([]Layer, len(m.Layers)), Stages: []Stage{}, Warnings: []Warning{}}
	hist := historyTexts(cf.History, len(m.Layers))
	for i, d := range m.Layers {
		a.rep.Layers[i] = Layer{Index: i, DiffID: cf.RootFS.DiffIDs[i].String(), Digest: d.Digest.String(),
			Size: d.Size, CreatedBy: hist[i], TopPaths: []PathSize{}}
		a.rep.Size += d.Size
	}
	a.loadRecord(manifest)
	return a, nil
}

// historyTexts lines the config history's created_by texts up with the
// layers (history entries that made no layer are left out).
func historyTexts(hist []v1.History, layers int) []string {
	var out []string
	for _, h := range hist {
		if !h.EmptyLayer {
			out = append(out, createdBy(h.CreatedBy))
		}
	}
	if len(out) > layers {
		out = out[len(out)-layers:]
	}
	for len(out) < layers {
		out = append([]string{""}, out...)
	}
	return out
}

func createdBy(s string) string {
	s = strings.TrimSuffix(s, " # buildkit")
	s = strings.TrimPrefix(s, "/bin/sh -c #(nop) ")
	if rest, ok := strings.CutPrefix(s, "|"); ok { // BuildKit's "|2 A=1 B=2 /bin/sh -c …"
		if _, after, ok := strings.Cut(rest, " /bin/sh -c "); ok {
			s = "RUN " + after
		}
	}
	if rest, ok := strings.CutPrefix(s, "/bin/sh -c "); ok {
		s = "RUN " + rest
	}
	return strings.Join(strings.Fields(s), " ")
}

// loadRecord reads the build record, if the image has one that matches
// its layers.
func (a *analysis) loadRecord(manifest v1.Hash) {
	raw, err := a.st.Record("build", manifest)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.note("build record unreadable (%v): layers explained by their history", err)
		}
		return
	}
	var rec image.Record
	if err := json.Unmarshal(raw, &rec); err != nil {
		a.note("build record unreadable (%v): layers explained by their history", err)
		return
	}
	if len(rec.Layers) != len(a.rep.Layers) {
		a.note("build record lists %d layers, the image has %d: layers explained by their history",
			len(rec.Layers), len(a.rep.Layers))
		return
	}
	for i, l := range rec.Layers {
		if l.DiffID != a.rep.Layers[i].DiffID {
			a.note("build record does not match layer %d: layers explained by their history", i)
			return
		}
	}
	// A later record may give each stage's FROM line.
	var lines struct {
		Stages []struct {
			Name string `json:"name"`
			Line int    `json:"line"`
		} `json:"stages"`
	}
	_ = json.Unmarshal(raw, &lines)
	a.lines = make(map[string]int)
	for _, s := range lines.Stages {
		a.lines[s.Name] = s.Line
	}
	a.rec = &rec
	a.rep.Record, a.rep.Dockerfile, a.rep.Target = true, rec.Dockerfile, rec.Target
	for i, l := range rec.Layers {
		L := &a.rep.Layers[i]
		L.Stage, L.Instruction, L.Line = l.Made.Stage, l.Made.Instruction, l.Made.Line
		L.FromStage, L.BaseImage, L.Bytes = l.FromStage, l.BaseImage, l.Bytes
	}
}

func (a *analysis) note(format string, args ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rep.Notes = append(a.rep.Notes, fmt.Sprintf(format, args...))
}

// own reports whether layer i is the Dockerfile's work rather than the
// base image's (every layer is, without a record to tell).
func (a *analysis) own(i int) bool {
	return a.rec == nil || a.rep.Layers[i].BaseImage == ""
}

// read scans the layers idx not read yet, o.jobs at a time. A layer whose
// blob is not in the store is noted and left unread.
func (a *analysis) read(ctx context.Context, idx []int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(a.o.jobs)
	for _, i := range idx {
		a.mu.Lock()
		done := a.scans[i] != nil || a.failed[i]
		a.mu.Unlock()
		if done {
			continue
		}
		g.Go(func() error {
			s, err := readLayer(gctx, a.st, a.descs[i], a.o)
			if errors.Is(err, store.ErrNotFound) {
				a.note("layer %d (%s) is not in the store: not read", i, a.descs[i].Digest)
				a.mu.Lock()
				a.failed[i] = true
				a.mu.Unlock()
				return nil
			}
			if err != nil {
				return fmt.Errorf("layer %d: %w", i, err)
			}
			a.setScan(i, s)
			return nil
		})
	}
	return g.Wait()
}

// readCached takes the layers idx not read yet from the store's records
// of earlier reads, without reading any layer.
func (a *analysis) readCached(idx []int) {
	if !a.o.cache {
		return
	}
	for _, i := range idx {
		if a.scans[i] == nil {
			if s := cachedScan(a.st, a.descs[i]); s != nil {
				a.setScan(i, s)
			}
		}
	}
}

func (a *analysis) setScan(i int, s *layerScan) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scans[i] = s
	L := &a.rep.Layers[i]
	L.Read, L.Bytes, L.Uncompressed, L.Files, L.tree = true, s.Bytes, s.TarBytes, s.Files, s.Tree
	L.TopPaths = append([]PathSize{}, s.Top[:min(len(s.Top), a.o.topPaths)]...)
}

// scanFunc reads one layer blob.
type scanFunc func(ctx context.Context, st *store.Store, desc v1.Descriptor) (*layerScan, error)

func scanBlob(ctx context.Context, st *store.Store, desc v1.Descriptor) (*layerScan, error) {
	f, err := st.OpenBlob(desc.Digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rc, err := archive.Decompress(f)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return scanTar(ctx, rc)
}

// cacheKind names the store records that keep layer scans, by layer
// blob; the version changes whenever what a scan finds does.
const cacheKind = "explain-v1"

func cachedScan(st *store.Store, desc v1.Descriptor) *layerScan {
	b, err := st.Record(cacheKind, desc.Digest)
	if err != nil {
		return nil
	}
	var s layerScan
	if json.Unmarshal(b, &s) != nil || s.Tree == nil {
		return nil
	}
	return &s
}

func readLayer(ctx context.Context, st *store.Store, desc v1.Descriptor, o *options) (*layerScan, error) {
	if o.cache {
		if s := cachedScan(st, desc); s != nil {
			return s, nil
		}
	}
	s, err := o.scan(ctx, st, desc)
	if err != nil {
		return nil, err
	}
	if o.cache {
		if b, err := json.Marshal(s); err == nil {
			_ = st.PutRecord(cacheKind, desc.Digest, b) // best effort: a read-only store still explains
		}
	}
	return s, nil
}
