package export

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/attest"
	"github.com/kiln-build/kiln/solver"
)

// Local and tar outputs carry their attestations as files beside the
// root filesystem, as BuildKit's local and tar exporters write them: one
// in-toto statement per file (sbom.spdx.json, provenance.json), about
// every regular file of the output (its path and sha256). An inline-only
// provenance is left out.

// fileAttestations reports whether local and tar outputs get statements.
func (w *writer) fileAttestations() bool {
	p := w.o.attest.Provenance
	return w.o.attest.SBOM != nil || p != nil && !p.InlineOnly
}

// rootfsWalk sees every entry of an output's root filesystem: it hashes
// the regular files (the statements' subjects) and catalogues them.
type rootfsWalk struct {
	subjects []attest.Subject
	cat      *attest.Catalog
	file     func(p string, mode fs.FileMode, size int64, r io.Reader) error
	done     func()
}

func (w *writer) newRootfsWalk() *rootfsWalk {
	rw := &rootfsWalk{subjects: []attest.Subject{}}
	if w.o.attest.SBOM != nil {
		rw.cat = attest.NewCatalog()
		rw.file, rw.done = rw.cat.Files()
	}
	return rw
}

// entry takes one entry (name relative to the root) with its content.
func (rw *rootfsWalk) entry(name string, mode fs.FileMode, size int64, r io.Reader) error {
	if !mode.IsRegular() {
		if rw.file != nil {
			return rw.file(name, mode, size, nil)
		}
		return nil
	}
	h := sha256.New()
	tee := io.TeeReader(r, h)
	if rw.file != nil {
		if err := rw.file(name, mode, size, tee); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, tee); err != nil { // the rest, into h
		return err
	}
	rw.subjects = append(rw.subjects, attest.Subject{Name: name, Digest: map[string]string{"sha256": hex.EncodeToString(h.Sum(nil))}})
	return nil
}

// attestationFile is one statement as a file of an output.
type attestationFile struct {
	name string
	data []byte
}

// writeAttestationFiles makes the statement files of pr's output once
// rw saw every entry, and gives each to put with its mtime.
func (w *writer) writeAttestationFiles(pr *solver.Result, rw *rootfsWalk, vcs map[string]string,
	put func(f attestationFile, mtime time.Time) error) error {
	if rw.done != nil {
		rw.done()
	}
	names := dedupe(w.o.tags)
	stmts, err := w.makeStatements(pr, rw.cat, nil, names, v1.Descriptor{}, rw.subjects, vcs, false)
	if err != nil {
		return err
	}
	t := fileTime(pr)
	for _, s := range stmts {
		data, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		name := "sbom.spdx.json"
		if s.PredicateType == attest.PredicateSLSA1 {
			name = w.o.attest.Provenance.Filename
		}
		if err := put(attestationFile{name, data}, t); err != nil {
			return err
		}
	}
	return nil
}

// fileTime is the statement files' mtime: SOURCE_DATE_EPOCH, else now.
func fileTime(pr *solver.Result) time.Time {
	if pr.Epoch != nil {
		return *pr.Epoch
	}
	return time.Now()
}

// attestDir writes the statement files of pr's files into dir, reading
// the files from a view of the image's layers.
func (w *writer) attestDir(ctx context.Context, pr *solver.Result, dir string, vcs map[string]string) error {
	lowers, err := pr.Lowers(ctx, pr.Image)
	if err != nil {
		return err
	}
	v, err := pr.Snapshots().View(ctx, lowers)
	if err != nil {
		return err
	}
	defer v.Release()
	rw := w.newRootfsWalk()
	root := v.Root()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return rw.entry(filepath.ToSlash(rel), fi.Mode(), 0, nil)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return rw.entry(filepath.ToSlash(rel), fi.Mode(), fi.Size(), f)
	})
	if err != nil {
		return err
	}
	return w.writeAttestationFiles(pr, rw, vcs, func(f attestationFile, t time.Time) error {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, f.data, 0o600); err != nil {
			return err
		}
		return os.Chtimes(p, t, t)
	})
}

// tarRootfs copies pr's flat root filesystem tar into tw under prefix
// ("" or "linux_amd64/"), then, with attestations, the statement files.
func (w *writer) tarRootfs(ctx context.Context, pr *solver.Result, tw *tar.Writer, prefix string, vcs map[string]string) error {
	lowers, err := pr.Lowers(ctx, pr.Image)
	if err != nil {
		return err
	}
	r, pw := io.Pipe()
	go func() { pw.CloseWithError(FlatTar(ctx, pr.Snapshots(), lowers, pw)) }()
	var rw *rootfsWalk
	if w.fileAttestations() {
		rw = w.newRootfsWalk()
	}
	err = prefixTar(tw, tar.NewReader(r), prefix, rw)
	r.CloseWithError(err)
	if err != nil || rw == nil {
		return err
	}
	return w.writeAttestationFiles(pr, rw, vcs, func(f attestationFile, t time.Time) error {
		h := &tar.Header{Name: prefix + f.name, Mode: 0o600, Size: int64(len(f.data)), Typeflag: tar.TypeReg, ModTime: t}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(f.data)
		return err
	})
}

// local writes the image's files into dest (a directory per platform for
// several), with their statement files.
func (w *writer) local(ctx context.Context, dest string) error {
	vcs := w.fileVCS(ctx)
	if w.multi() {
		return w.localPlatforms(ctx, dest, vcs)
	}
	lowers, err := w.res.Lowers(ctx, w.res.Image)
	if err != nil {
		return err
	}
	if err := Local(ctx, w.res.Snapshots(), lowers, dest); err != nil {
		return err
	}
	if w.fileAttestations() {
		return w.attestDir(ctx, w.res, dest, vcs)
	}
	return nil
}

// tar writes the image's files as one tar (under a directory per
// platform for several), with their statement files.
func (w *writer) tar(ctx context.Context, out io.Writer) error {
	vcs := w.fileVCS(ctx)
	if w.multi() {
		return w.tarPlatforms(ctx, out, vcs)
	}
	if !w.fileAttestations() {
		lowers, err := w.res.Lowers(ctx, w.res.Image)
		if err != nil {
			return err
		}
		return FlatTar(ctx, w.res.Snapshots(), lowers, out)
	}
	tw := tar.NewWriter(out)
	if err := w.tarRootfs(ctx, w.res, tw, "", vcs); err != nil {
		return err
	}
	return tw.Close()
}

func (w *writer) fileVCS(ctx context.Context) map[string]string {
	if !w.fileAttestations() {
		return nil
	}
	return w.vcs(ctx)
}
