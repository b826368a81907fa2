package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/moby/sys/userns"
	"golang.org/x/sys/unix"
)

// ErrNotFound is returned when an image name or blob is not in the store.
var ErrNotFound = errors.New("store: not found")

// Store is an open store root. It is safe for concurrent use by several
// goroutines and several processes.
type Store struct {
	root string
	tmp  string // this process's private temp dir, under root/tmp
	lock *os.File
}

// DefaultRoot is /var/lib/kiln for root and $XDG_DATA_HOME/kiln (or
// ~/.local/share/kiln) otherwise — also for rootless kiln, which is root
// only inside its user namespace.
func DefaultRoot() string {
	if os.Geteuid() == 0 && !userns.RunningInUserNS() {
		return "/var/lib/kiln"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "kiln")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "kiln")
}

// Open opens (creating if needed) the store at root. Temp dirs left by kiln
// processes that are gone are swept, and so are their containers' cgroups
// and state dirs outside the store (SweepStale).
func Open(root string) (*Store, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"blobs/sha256", "snapshots", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	if err := writeLayoutMarker(root); err != nil {
		return nil, err
	}
	s := &Store{root: root}
	s.sweepTmp()
	SweepStale()
	tmp, f, err := s.lockedTempDir()
	if err != nil {
		return nil, err
	}
	s.tmp, s.lock = tmp, f
	return s, nil
}

// lockedTempDir makes this process's temp dir with its lock already held:
// it is made and locked under a ".new-" name, which sweeps leave alone,
// then renamed into view.
func (s *Store) lockedTempDir() (string, *os.File, error) {
	base := filepath.Join(s.root, "tmp")
	staging, err := os.MkdirTemp(base, newPrefix)
	if err != nil {
		return "", nil, fmt.Errorf("store: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(staging, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		os.RemoveAll(staging)
		return "", nil, fmt.Errorf("store: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		os.RemoveAll(staging)
		return "", nil, fmt.Errorf("store: locking temp dir: %w", err)
	}
	spreadDir(staging) // each TempDir in a block group of its own (see spreadDir)
	tmp := filepath.Join(base, "p"+strconv.Itoa(os.Getpid())+strings.TrimPrefix(filepath.Base(staging), newPrefix))
	if err := os.Rename(staging, tmp); err != nil {
		f.Close()
		os.RemoveAll(staging)
		return "", nil, fmt.Errorf("store: %w", err)
	}
	return tmp, f, nil
}

// newPrefix names temp dirs being set up; sweeps skip them unless stale.
const newPrefix = ".new-"

// Close releases this process's temp space.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	err := removeAll(s.tmp)
	s.lock.Close()
	s.lock = nil
	return err
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

// TempDir makes a new private directory for in-progress work. It is removed
// by Close, or by the next Open after a crash.
func (s *Store) TempDir(pattern string) (string, error) {
	return os.MkdirTemp(s.tmp, pattern)
}

// sweepTmp removes temp dirs whose owning process no longer holds its lock.
func (s *Store) sweepTmp() {
	dir := filepath.Join(s.root, "tmp")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), newPrefix) {
			if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < time.Hour {
				continue
			}
		}
		f, err := os.Open(filepath.Join(p, ".lock"))
		if err == nil {
			busy := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil
			f.Close()
			if busy {
				continue
			}
		}
		_ = removeAll(p)
	}
}

// removeAll removes path, first unmounting anything a crashed build left
// mounted below it.
func removeAll(path string) error {
	unmountBelow(path)
	return os.RemoveAll(path)
}

func writeLayoutMarker(root string) error {
	p := filepath.Join(root, "oci-layout")
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return WriteFileAtomic(p, []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// WriteFileAtomic writes data to path through a temp file and a rename.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), mode); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
