package export

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/solver"
)

// A multi-platform result exports as an OCI image index: one manifest per
// platform (each with its platform in the index), named, pushed and
// archived as one. Files (local, tar) go in a directory per platform,
// linux_amd64/ and so on, as buildx writes them.

// commitIndex commits every platform's image and the index of them.
func (w *writer) commitIndex(ctx context.Context, clamp *time.Time) error {
	plats := w.res.Platforms
	step := progress.Start(w.o.sink, progress.StepInfo{Name: fmt.Sprintf("exporting %d platforms", len(plats))})
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex, Annotations: w.o.annotations["index"]}
	err := func() error {
		for _, pr := range plats {
			if err := pr.FetchBlobs(ctx, pr.Image); err != nil {
				return err
			}
			d, err := commit(ctx, w.st, pr.Image, w.o.comp, w.o.annotations["manifest"], clamp)
			if err != nil {
				return err
			}
			if clamp == nil {
				if err := pr.RecordBlobs(pr.Image.Layers); err != nil {
					return err
				}
			}
			if err := putRecord(w.st, pr, d); err != nil {
				return err
			}
			d.Platform = platformOf(pr)
			d.Annotations = w.o.annotations["manifest-descriptor"]
			idx.Manifests = append(idx.Manifests, d)
		}
		w.index = idx
		return w.putIndex(idx) // as buildx: a multi-platform image is named by its index
	}()
	step.Done(err)
	w.committed = err == nil
	return err
}

// platformDir is a platform's directory in a local or tar output.
func platformDir(r *solver.Result) string {
	c := r.Image.Config
	return strings.Join(nonEmpty(c.OS, c.Architecture, c.Variant), "_")
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// localPlatforms writes each platform's files into dest/<platform>
// (with its attestations, if any).
func (w *writer) localPlatforms(ctx context.Context, dest string, vcs map[string]string) error {
	for _, pr := range w.res.Platforms {
		lowers, err := pr.Lowers(ctx, pr.Image)
		if err != nil {
			return err
		}
		dir := filepath.Join(dest, platformDir(pr))
		if err := Local(ctx, pr.Snapshots(), lowers, dir); err != nil {
			return err
		}
		if w.fileAttestations() {
			if err := w.attestDir(ctx, pr, dir, vcs); err != nil {
				return err
			}
		}
	}
	return nil
}

// tarPlatforms writes each platform's files under <platform>/ in one tar.
func (w *writer) tarPlatforms(ctx context.Context, out io.Writer, vcs map[string]string) error {
	tw := tar.NewWriter(out)
	for _, pr := range w.res.Platforms {
		if err := w.tarRootfs(ctx, pr, tw, platformDir(pr)+"/", vcs); err != nil {
			return err
		}
	}
	return tw.Close()
}

// prefixTar copies the entries of tr into tw under prefix; rw, if not
// nil, sees each entry as it goes by.
func prefixTar(tw *tar.Writer, tr *tar.Reader, prefix string, rw *rootfsWalk) error {
	if prefix != "" {
		if err := tw.WriteHeader(&tar.Header{Name: prefix, Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			return err
		}
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(h.Name, "./")
		h.Name = prefix + rel
		if h.Typeflag == tar.TypeLink {
			h.Linkname = prefix + strings.TrimPrefix(h.Linkname, "./")
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		content := io.TeeReader(tr, tw) // what rw reads goes to tw too
		if rw != nil && h.Typeflag != tar.TypeDir {
			if err := rw.entry(strings.TrimSuffix(rel, "/"), h.FileInfo().Mode(), h.Size, content); err != nil {
				return err
			}
		}
		if _, err := io.Copy(io.Discard, content); err != nil {
			return err
		}
	}
}
