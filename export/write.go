package export

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/attest"
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/explain"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/store"
)

// Option configures Write.
type Option func(*options) error

type options struct {
	tags        []string
	annotations Annotations
	comp        Compression
	cacheTo     []cache.Spec
	sink        progress.Sink
	stdout      io.Writer
	noLeakCheck bool
	attest      attest.Spec
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{comp: Gzip, sink: progress.Discard}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// WithTags names the image (-t): in the store for image outputs, in the
// archive, and where a push goes.
func WithTags(tags ...string) Option {
	return func(o *options) error {
		for _, t := range tags {
			n, err := store.Normalize(t)
			if err != nil {
				return fmt.Errorf("-t %s: %w", t, err)
			}
			o.tags = append(o.tags, n)
		}
		return nil
	}
}

// WithAnnotations puts --annotation values on the image manifest and its
// descriptor.
func WithAnnotations(a Annotations) Option {
	return func(o *options) error {
		o.annotations = a
		return nil
	}
}

// WithCompression sets the compression of new layers (default gzip).
func WithCompression(c Compression) Option {
	return func(o *options) error { o.comp = c; return nil }
}

// WithCacheTo exports the build cache, as --cache-to values
// (type=registry,ref=…[,mode=max] or type=local,dest=…).
func WithCacheTo(values ...string) Option {
	return func(o *options) error {
		for _, v := range values {
			sp, err := cache.ParseSpec("--cache-to", v)
			if err != nil {
				return err
			}
			o.cacheTo = append(o.cacheTo, sp)
		}
		return nil
	}
}

// WithProgress sends the export's steps to sink.
func WithProgress(sink progress.Sink) Option {
	return func(o *options) error { o.sink = progress.Or(sink); return nil }
}

// WithStdout is where outputs with dest=- go (default os.Stdout).
func WithStdout(w io.Writer) Option {
	return func(o *options) error { o.stdout = w; return nil }
}

// WithoutLeakCheck skips the check of the exported image for what
// should not cross a stage boundary (see package explain), which Write
// otherwise runs on every image it commits.
func WithoutLeakCheck() Option {
	return func(o *options) error { o.noLeakCheck = true; return nil }
}

// Report is what Write made.
type Report struct {
	// Manifest is the image's manifest in the store, when an output needed
	// the image committed (image, registry, oci, docker).
	Manifest v1.Descriptor
	// ImageID is the config digest (docker's image ID), with Manifest.
	ImageID string
	// Names are the names given to the image in the store.
	Names []string
	// Pushed are the references pushed to registries.
	Pushed []string
	// Archived are the names written into OCI and docker archives.
	Archived []string
	// Leaks are what the image carries that a final image should not (a
	// toolchain, build caches, VCS dirs, secrets, a whole stage copied):
	// explain.Check's warnings, for committed images.
	Leaks []explain.Warning
}

// Metadata is the report in buildx's --metadata-file keys.
func (r Report) Metadata() map[string]any {
	m := map[string]any{}
	if r.ImageID != "" {
		if !r.Manifest.MediaType.IsIndex() { // an index has no one config
			m["containerimage.config.digest"] = r.ImageID
		}
		m["containerimage.digest"] = r.Manifest.Digest.String()
		desc := map[string]any{"mediaType": r.Manifest.MediaType, "digest": r.Manifest.Digest.String(), "size": r.Manifest.Size}
		if len(r.Manifest.Annotations) > 0 {
			desc["annotations"] = r.Manifest.Annotations
		}
		m["containerimage.descriptor"] = desc
	}
	names := append(append(append([]string(nil), r.Names...), r.Pushed...), r.Archived...)
	if len(names) > 0 {
		m["image.name"] = strings.Join(dedupe(names), ",")
	}
	return m
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Write exports res to every output. Blobs are written first and names
// last, so a failure leaves nothing tagged. Then the build cache goes to
// every WithCacheTo destination.
func Write(ctx context.Context, st *store.Store, res *solver.Result, outs []Output, opts ...Option) (Report, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return Report{}, err
	}
	w := &writer{st: st, res: res, o: o}
	if err := w.check(outs); err != nil {
		return Report{}, err
	}
	if err := w.commit(ctx, outs); err != nil {
		return Report{}, err
	}
	if w.committed && o.attest.Any() {
		if err := w.attach(ctx, outs); err != nil {
			return Report{}, err
		}
	}
	var toTag []string
	for _, out := range outs {
		names := o.tags
		if out.Name != "" {
			n, err := store.Normalize(out.Name)
			if err != nil {
				return Report{}, fmt.Errorf("--output name=%s: %w", out.Name, err)
			}
			names = []string{n}
		}
		if err := w.output(ctx, out, names); err != nil {
			return Report{}, err
		}
		switch out.Type {
		case "image":
			toTag = append(toTag, names...)
		case "oci", "docker":
			w.rep.Archived = append(w.rep.Archived, names...)
		}
	}
	for _, n := range toTag {
		if err := st.Tag(n, w.rep.Manifest); err != nil {
			return Report{}, err
		}
		w.rep.Names = append(w.rep.Names, n)
		progress.Notef(o.sink, "naming to %s", n)
	}
	if w.committed {
		progress.Notef(o.sink, "image %s", w.rep.ImageID)
		if err := st.SetLast(w.rep.Manifest); err != nil {
			return Report{}, err
		}
		if !o.noLeakCheck {
			w.checkLeaks(ctx)
		}
	}
	for _, sp := range o.cacheTo {
		step := progress.Start(o.sink, progress.StepInfo{Name: "exporting cache to " + sp.Ref + sp.Dir})
		err := exportCache(ctx, st, res, sp, o.comp, o.sink)
		step.Done(err)
		if err != nil {
			return Report{}, err
		}
	}
	return w.rep, nil
}

// checkLeaks runs the leak rules on the committed image; a check that
// fails is a warning, not a failed build.
func (w *writer) checkLeaks(ctx context.Context) {
	ws, err := explain.Check(ctx, w.st, w.rep.Manifest.Digest)
	if err != nil {
		if ctx.Err() == nil {
			w.o.sink.Event(progress.Warning{Message: "checking the image for leaks: " + err.Error()})
		}
		return
	}
	w.rep.Leaks = ws
}

type writer struct {
	st        *store.Store
	res       *solver.Result
	o         *options
	rep       Report
	committed bool
	index     v1.IndexManifest // a multi-platform result's index, as committed
}

// multi reports a multi-platform result.
func (w *writer) multi() bool { return len(w.res.Platforms) > 0 }

// check refuses what the outputs cannot do with the result.
func (w *writer) check(outs []Output) error {
	for typ := range w.o.annotations {
		if (typ == "index" || typ == "index-descriptor") && !w.multi() && !w.o.attest.Any() {
			return fmt.Errorf("--annotation %s:…: an index is only made for a multi-platform build or with attestations", typ)
		}
	}
	w.warnAttestations(outs)
	if !w.multi() {
		return nil
	}
	for _, out := range outs {
		if out.Type == "docker" {
			return fmt.Errorf("a docker archive (and --load) holds one platform's image, not an index of %d: "+
				"use -o type=oci, --push, or one --platform", len(w.res.Platforms))
		}
	}
	return nil
}

// commit writes the image's blobs, config and manifest into the store, if
// any output needs them.
func (w *writer) commit(ctx context.Context, outs []Output) error {
	need := false
	for _, out := range outs {
		need = need || out.NeedsCommit()
	}
	if !need {
		return nil
	}
	clamp := w.clamp(outs)
	if w.multi() {
		return w.commitIndex(ctx, clamp)
	}
	img := w.res.Image
	step := progress.Start(w.o.sink, progress.StepInfo{Name: fmt.Sprintf("exporting %d layers", len(img.Layers))})
	err := w.res.FetchBlobs(ctx, img)
	if err == nil {
		w.rep.Manifest, err = commit(ctx, w.st, img, w.o.comp, w.o.annotations["manifest"], clamp)
		if d := w.o.annotations["manifest-descriptor"]; len(d) > 0 {
			w.rep.Manifest.Annotations = d
		}
	}
	if err == nil && clamp == nil { // rewritten blobs are not the cache's
		err = w.res.RecordBlobs(img.Layers)
	}
	if err == nil {
		w.rep.ImageID, err = configDigest(w.st, w.rep.Manifest)
	}
	if err == nil {
		err = putRecord(w.st, w.res, w.rep.Manifest)
	}
	step.Done(err)
	w.committed = err == nil
	return err
}

// clamp is the time the build's layer mtimes are clamped to: with
// SOURCE_DATE_EPOCH, kiln rewrites timestamps by default (BuildKit's
// rewrite-timestamp=true) unless an output says rewrite-timestamp=false;
// without it, nothing (as buildx).
func (w *writer) clamp(outs []Output) *time.Time {
	if w.res.Epoch == nil {
		return nil
	}
	for _, out := range outs {
		if out.KeepTimestamps {
			return nil
		}
	}
	return w.res.Epoch
}

func (w *writer) output(ctx context.Context, out Output, names []string) error {
	sink, desc := w.o.sink, w.rep.Manifest
	switch out.Type {
	case "image", "registry":
		if !out.Push {
			return nil
		}
		if len(names) == 0 {
			return fmt.Errorf("--push: no image name (use -t or name=)")
		}
		step := progress.Start(sink, progress.StepInfo{Name: fmt.Sprintf("pushing %v", names)})
		err := Push(ctx, w.st, desc, names, nil)
		step.Done(err)
		if err == nil {
			w.rep.Pushed = append(w.rep.Pushed, names...)
		}
		return err
	case "docker":
		if out.Dest != "" {
			break
		}
		step := progress.Start(sink, progress.StepInfo{Name: "loading into the docker daemon at " + DockerHost()})
		err := DockerLoad(ctx, w.st, desc, names, DockerHost())
		step.Done(err)
		if err != nil {
			return fmt.Errorf("--load: %w", err)
		}
		return nil
	case "local":
		step := progress.Start(sink, progress.StepInfo{Name: "copying files to " + out.Dest})
		err := w.local(ctx, out.Dest)
		step.Done(err)
		return err
	}
	err := ToFile(out.Dest, w.o.stdout, func(wr io.Writer) error {
		switch out.Type {
		case "oci":
			return OCIArchive(w.st, desc, names, wr)
		case "docker":
			return DockerArchive(w.st, desc, names, wr)
		default:
			return w.tar(ctx, wr)
		}
	})
	if err != nil {
		return fmt.Errorf("--output dest=%s: %w", out.Dest, err)
	}
	return nil
}

// putRecord keeps the build's record of an image beside its manifest,
// for kiln explain (the layers now have their digests).
func putRecord(st *store.Store, res *solver.Result, manifest v1.Descriptor) error {
	rec := res.Record()
	// the manifest's blobs, which a timestamp rewrite made anew
	img, err := st.Image(manifest.Digest)
	if err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	if len(m.Layers) == len(rec.Layers) && len(cfg.RootFS.DiffIDs) == len(rec.Layers) {
		for i := range rec.Layers {
			rec.Layers[i].Digest, rec.Layers[i].Size = m.Layers[i].Digest.String(), m.Layers[i].Size
			rec.Layers[i].DiffID = cfg.RootFS.DiffIDs[i].String()
		}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return st.PutRecord("build", manifest.Digest, b)
}

// configDigest is the image ID docker shows: the config's digest.
func configDigest(st *store.Store, desc v1.Descriptor) (string, error) {
	img, err := st.Image(desc.Digest)
	if err != nil {
		return "", err
	}
	d, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// exportCache writes the build's cache to sp: the target image's steps,
// or with mode=max every stage's and the content of the automatic
// toolchain caches the build used (each at most sp.MountMax bytes).
// Layers without a blob yet (builder stages) are tarred and compressed now.
func exportCache(ctx context.Context, st *store.Store, res *solver.Result, sp cache.Spec, comp Compression, sink progress.Sink) error {
	results := []*solver.Result{res}
	if len(res.Platforms) > 0 {
		results = res.Platforms // every platform's steps
	}
	var imgs []*image.Image
	for _, r := range results {
		imgs = append(imgs, r.Image)
		if sp.Max {
			for _, s := range r.Stages {
				imgs = append(imgs, s.Image)
			}
		}
	}
	// the steps' layers, each once: base image layers are no cache records
	// (and their blobs are not fetched for it)
	steps := &image.Image{}
	seen := map[string]bool{}
	for _, img := range imgs {
		for _, l := range img.Layers {
			if l.Key != "" && !seen[l.Key] {
				seen[l.Key] = true
				steps.Layers = append(steps.Layers, l)
			}
		}
	}
	if err := res.FetchBlobs(ctx, steps); err != nil {
		return err
	}
	if err := EnsureBlobs(ctx, st, steps.Layers, comp); err != nil {
		return err
	}
	if err := res.RecordBlobs(steps.Layers); err != nil {
		return err
	}
	var recs []cache.Exported
	for _, l := range steps.Layers {
		recs = append(recs, cache.Exported{Key: l.Key, DiffID: l.DiffID.String(), Blob: l.Blob, Created: l.Created,
			Mounts: res.StepMounts(l.Key)})
	}
	var mounts []cache.Mount
	if sp.Max {
		var notes []string
		var err error
		mounts, notes, err = res.ExportAutoCaches(ctx, sp.MountMax, func(ctx context.Context, dir string) (v1.Hash, v1.Descriptor, error) {
			l := []image.Layer{{Dir: dir}}
			err := EnsureBlobs(ctx, st, l, comp)
			return l[0].DiffID, l[0].Blob, err
		})
		if err != nil {
			return err
		}
		for _, n := range notes {
			progress.Notef(sink, "%s", n)
		}
	}
	return cache.Push(ctx, sp, recs, mounts, st)
}
