package export

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ToFile writes what fn produces to dest, the way a user expects from
// `-o dest=…` or `kiln save -o`:
//
//   - "-" and "/dev/stdout" stream to stdout;
//   - a missing path or a regular file is written through a temp file in
//     the same directory and renamed over it only once fn succeeded, so a
//     failure never leaves a half-written archive under the final name; the
//     file gets mode 0666 less the umask, like any file a program creates;
//   - an existing device, FIFO or socket (/dev/null, /dev/full, a pipe) is
//     opened and written to, never replaced;
//   - a symbolic link is followed, and the rules apply to its target;
//   - a directory is refused.
func ToFile(dest string, stdout io.Writer, fn func(io.Writer) error) error {
	if dest == "-" || dest == "/dev/stdout" {
		if stdout == nil {
			stdout = os.Stdout
		}
		return fn(stdout)
	}
	target := dest
	if real, err := filepath.EvalSymlinks(dest); err == nil {
		target = real
	} else if fi, lerr := os.Lstat(dest); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// a dangling link: create what it points to, as a shell would
		link, err := os.Readlink(dest)
		if err != nil {
			return err
		}
		if !filepath.IsAbs(link) {
			link = filepath.Join(filepath.Dir(dest), link)
		}
		target = link
	}
	fi, err := os.Stat(target)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("%s is a directory (want a file name, or - for stdout)", dest)
	case err == nil && !fi.Mode().IsRegular():
		return writeThrough(target, fn)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return replaceFile(target, fn)
}

// writeThrough writes to an existing non-regular file (device, FIFO).
func writeThrough(path string, fn func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replaceFile writes path atomically: a temp file next to it, renamed over
// it once complete.
func replaceFile(path string, fn func(io.Writer) error) error {
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+hex.EncodeToString(rnd[:]))
	// 0666: the umask decides, as for any file a program creates
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // fails harmlessly once renamed
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
