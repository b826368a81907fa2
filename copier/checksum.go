package copier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path"
	"syscall"

	"github.com/kiln-build/kiln/internal/rawfile"
)

// FileDigest returns the content digest of a regular file; a caller can
// back it with a stat cache so unchanged files are not read again.
type FileDigest func(abs string, fi os.FileInfo) (string, error)

// Checksum digests exactly what Copy would read for srcs from src: each
// selected entry's path, type, permission bits, owner (when src keeps
// owners), size, link target and content — not mtimes. Two calls agree
// exactly when the copied files would be the same. digest may be nil (files
// are then read and hashed).
func Checksum(ctx context.Context, src Source, srcs []string, opts Options, digest FileDigest) (string, error) {
	c, err := newCopier(src, "/", opts)
	if err != nil {
		return "", err
	}
	items, err := c.collect(ctx, srcs)
	if err != nil {
		return "", err
	}
	if len(items) == 0 && !opts.Parents {
		return "", fmt.Errorf("%w: no source files were specified", ErrNotFound)
	}
	if digest == nil {
		digest = hashFile
	}
	h := sha256.New()
	lines := &sumLines{h: h, sem: c.sem, digest: digest}
	for _, it := range items {
		fmt.Fprintf(h, "item %d %s\n", it.group, it.name)
		w := &walk{c: c, base: it.real, in: it.include}
		err := w.sum(ctx, lines, "", it.fi)
		if err == nil {
			err = lines.drain(0)
		}
		if err != nil {
			lines.wait()
			return "", fmt.Errorf("checksum of %s: %w", it.name, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sum writes the record of rel (and, for a directory, its included
// descendants in name order) to h. A directory that is not included itself
// is recorded just before its first included descendant, as Copy creates
// it then.
func (w *walk) sum(ctx context.Context, lines *sumLines, rel string, fi os.FileInfo) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	include, descend, err := w.filter(rel, fi)
	if err != nil {
		return err
	}
	abs := w.c.src.abs(path.Join(w.base, rel))
	if include {
		if err := w.flushSums(lines); err != nil {
			return err
		}
		if err := w.c.record(lines, rel, abs, fi); err != nil {
			return err
		}
	}
	if !fi.IsDir() || !descend {
		return nil
	}
	if !include {
		w.sums = append(w.sums, &pendingSum{rel: rel, fi: fi})
		defer func() { w.sums = w.sums[:len(w.sums)-1] }()
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return err
	}
	for _, e := range entries {
		child := path.Join(rel, e.Name())
		cfi, err := os.Lstat(w.c.src.abs(path.Join(w.base, child)))
		if err != nil {
			return err
		}
		if err := w.sum(ctx, lines, child, cfi); err != nil {
			return err
		}
	}
	return nil
}

// pendingSum is a directory recorded only if something below it is.
type pendingSum struct {
	rel  string
	fi   os.FileInfo
	done bool
}

// flushSums records the pending directories not recorded yet.
func (w *walk) flushSums(lines *sumLines) error {
	for _, p := range w.sums {
		if p.done {
			continue
		}
		if err := w.c.record(lines, p.rel, w.c.src.abs(path.Join(w.base, p.rel)), p.fi); err != nil {
			return err
		}
		p.done = true
	}
	return nil
}

// record queues the record of one entry: path, mode, owner, size, and the
// link target or the content digest.
func (c *copier) record(lines *sumLines, rel, abs string, fi os.FileInfo) error {
	uid, gid := -1, -1
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && c.src.KeepOwner {
		uid, gid = int(st.Uid), int(st.Gid)
	}
	prefix := fmt.Sprintf("%q %o %d:%d %d ", rel, uint32(fi.Mode()), uid, gid, fi.Size())
	switch {
	case fi.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(abs)
		if err != nil {
			return err
		}
		return lines.add(prefix, "-> "+target)
	case fi.Mode().IsRegular():
		return lines.addFile(prefix, abs, fi)
	}
	return lines.add(prefix, "")
}

func hashFile(abs string, _ os.FileInfo) (string, error) {
	f, err := rawfile.Open(abs, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := f.WriteTo(h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
