package cache

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// A cache mount's content is a directory that builds keep writing. These
// helpers move such content in and out of the store without a moment
// where a build sees half of it: StageDir takes a view of it to export,
// MergeDir adds imported content to it without touching what is there.

// StageDir makes dst (which must not exist) a tree of hard links to the
// files of src, with its directories and symlinks: a stable view of src
// to export while builds keep writing it. Files that vanish meanwhile are
// left out. limit > 0 bounds the bytes of file content: over it, StageDir
// stages nothing and reports complete false, or with newest it takes the
// most recently modified files first up to the limit (complete false).
// It returns the bytes staged.
func StageDir(ctx context.Context, src, dst string, limit int64, newest bool) (n int64, complete bool, err error) {
	type file struct {
		rel   string
		size  int64
		mtime time.Time
	}
	var files []file
	var dirs, links []string
	var total int64
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		switch {
		case d.IsDir():
			dirs = append(dirs, rel)
		case d.Type()&fs.ModeSymlink != 0:
			links = append(links, rel)
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return nil // gone
			}
			files = append(files, file{rel, fi.Size(), fi.ModTime()})
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	complete = limit <= 0 || total <= limit
	if !complete && !newest {
		return 0, false, nil
	}
	if !complete {
		sort.Slice(files, func(i, j int) bool { return files[i].mtime.After(files[j].mtime) })
	}
	for _, rel := range dirs {
		if err := os.MkdirAll(filepath.Join(dst, rel), 0o755); err != nil {
			return 0, false, err
		}
	}
	for _, rel := range links {
		if t, err := os.Readlink(filepath.Join(src, rel)); err == nil {
			if err := os.Symlink(t, filepath.Join(dst, rel)); err != nil {
				return 0, false, err
			}
		}
	}
	for _, f := range files {
		if !complete && n+f.size > limit {
			continue
		}
		err := linkOrCopy(filepath.Join(src, f.rel), filepath.Join(dst, f.rel))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		n += f.size
	}
	// the directories as in src, deepest first (a read-only one last)
	for i := len(dirs) - 1; i >= 0; i-- {
		copyDirMeta(filepath.Join(src, dirs[i]), filepath.Join(dst, dirs[i]))
	}
	return n, complete, nil
}

// linkOrCopy hard links src to dst, or copies it where a link is refused
// (another file system, protected_hardlinks).
func linkOrCopy(src, dst string) error {
	err := os.Link(src, dst)
	if err == nil || !(errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EPERM)) {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(dst, fi.ModTime(), fi.ModTime())
}

// copyDirMeta gives dir the mode, owner and times of like (best effort).
func copyDirMeta(like, dir string) {
	fi, err := os.Lstat(like)
	if err != nil {
		return
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		os.Lchown(dir, int(st.Uid), int(st.Gid))
	}
	os.Chmod(dir, fi.Mode().Perm())
	os.Chtimes(dir, fi.ModTime(), fi.ModTime())
}

// MergeDir moves what src has and dst lacks into dst, entry by entry: an
// entry dst lacks is renamed into place whole (a build sees all of it or
// none), a directory both have is merged, anything else dst has is kept.
// src and dst must be on one file system; src is left with the rest.
func MergeDir(ctx context.Context, src, dst string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		fi, err := os.Lstat(d)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Rename(s, d); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
		case err != nil:
			return err
		case fi.IsDir() && e.IsDir():
			if err := MergeDir(ctx, s, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// RemoveTree removes dir like os.RemoveAll, first making its directories
// writable when that fails (a Go module cache is read-only, and its owner
// cannot remove it otherwise).
func RemoveTree(dir string) error {
	if err := os.RemoveAll(dir); err == nil {
		return nil
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
