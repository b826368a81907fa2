package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"

	"github.com/kiln-build/kiln/archive"
	"golang.org/x/sys/unix"
)

// normalize turns a step's upper dir into the same diff BuildKit's differ
// makes from the same change:
//   - directories that were only copied up (for a mount point, or touched
//     and restored) and hold no change are dropped, so `RUN true` makes an
//     empty layer;
//   - an opaque directory becomes explicit whiteouts for the lower entries
//     it hides, and loses the opaque marker when it hides nothing (a new
//     directory where the lower layers had a file or nothing).
//
// lowers are the snapshot's lower dirs, top first. Only the upper dir is
// walked, never the lower layers as a whole.
func normalize(upper string, lowers []string) error {
	_, err := normalizeDir(upper, "", lowers)
	return err
}

// normalizeDir normalizes the upper dir rel and reports whether it is now
// an unchanged copy-up that can go.
func normalizeDir(upper, rel string, lowers []string) (bool, error) {
	abs := filepath.Join(upper, rel)
	// the dir as the step left it: removing dropped copy-ups below changes
	// its times, which are put back
	self, err := os.Lstat(abs)
	if err != nil {
		return false, err
	}
	removed := false
	defer func() {
		if removed {
			st := self.Sys().(*syscall.Stat_t)
			ts := []unix.Timespec{{Sec: st.Atim.Sec, Nsec: st.Atim.Nsec}, {Sec: st.Mtim.Sec, Nsec: st.Mtim.Nsec}}
			_ = unix.UtimesNanoAt(unix.AT_FDCWD, abs, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
	}()
	lowerFI, lowerLayers := lookupLower(lowers, rel)
	opaque := isOpaque(abs)
	if opaque {
		if err := clearOpaque(abs); err != nil {
			return false, err
		}
		if lowerFI != nil && lowerFI.IsDir() {
			if err := whiteoutHidden(abs, rel, lowerLayers); err != nil {
				return false, err
			}
			removed = true // whiteouts were added: times are put back all the same
		}
	}
	if lowerFI == nil || !lowerFI.IsDir() {
		// new in this step: nothing below was copied up or hides a lower
		// entry, so only opaque markers (of directories renamed in from a
		// merged one) are left to drop; no lower lookups for each file
		return false, dropOpaque(abs)
	}
	ents, err := os.ReadDir(abs)
	if err != nil {
		return false, err
	}
	left := 0
	for _, e := range ents {
		if !e.IsDir() {
			drop, err := unchangedCopyUp(upper, filepath.Join(rel, e.Name()), lowers)
			if err != nil {
				return false, err
			}
			if drop {
				removed = true
			} else {
				left++
			}
			continue
		}
		child := filepath.Join(rel, e.Name())
		drop, err := normalizeDir(upper, child, lowers)
		if err != nil {
			return false, err
		}
		if drop {
			if err := os.Remove(filepath.Join(upper, child)); err != nil {
				return false, err
			}
			removed = true
			continue
		}
		left++
	}
	if rel == "" || opaque || left > 0 || lowerFI == nil || !lowerFI.IsDir() {
		return false, nil
	}
	return sameDir(self, lowerFI), nil
}

// dropOpaque removes the opaque markers of the directories below abs, a
// directory the lower layers do not have.
func dropOpaque(abs string) error {
	ents, err := os.ReadDir(abs)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		child := filepath.Join(abs, e.Name())
		if err := clearOpaque(child); err != nil {
			return err
		}
		if err := dropOpaque(child); err != nil {
			return err
		}
	}
	return nil
}

// clearOpaque removes p's opaque markers.
func clearOpaque(p string) error {
	for _, name := range archive.OpaqueXattrs {
		if !hasXattr(p, name) {
			continue // (and trusted.* may not even be readable, rootless)
		}
		if err := unix.Lremovexattr(p, name); err != nil {
			return err
		}
	}
	return nil
}

// unchangedCopyUp drops a file or symlink that overlay copied up without a
// change (for example to hard-link it): same type, mode, owner, size,
// mtime and link target as in the lower layers, BuildKit's sameDirent test.
func unchangedCopyUp(upper, rel string, lowers []string) (bool, error) {
	abs := filepath.Join(upper, rel)
	fi, err := os.Lstat(abs)
	if err != nil || isWhiteout(fi) || !(fi.Mode().IsRegular() || fi.Mode()&os.ModeSymlink != 0) {
		return false, err
	}
	lfi, _ := lookupLower(lowers, rel)
	if lfi == nil || !sameEntry(fi, lfi) {
		return false, nil
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		lt, _ := os.Readlink(filepath.Join(lowerPath(lowers, rel), rel))
		if t, _ := os.Readlink(abs); t != lt {
			return false, nil
		}
	}
	return true, os.Remove(abs)
}

// lowerPath is the lower layer that shows rel.
func lowerPath(lowers []string, rel string) string {
	for _, l := range lowers {
		if _, err := os.Lstat(filepath.Join(l, rel)); err == nil {
			return l
		}
	}
	return ""
}

func sameEntry(a, b os.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && a.Mode() == b.Mode() && sa.Uid == sb.Uid && sa.Gid == sb.Gid &&
		a.Size() == b.Size() && sa.Mtim == sb.Mtim
}

// lookupLower finds rel in the lower layers (top first) as the merged view
// shows it: the first layer that has it, unless a whiteout or an opaque
// directory above hides it. It also returns the layers that contribute to
// rel's contents (down to the first opaque one), for listing children.
func lookupLower(lowers []string, rel string) (os.FileInfo, []string) {
	var found os.FileInfo
	var contrib []string
	for _, l := range lowers {
		blocked := hiddenBelow(l, rel)
		if fi, err := os.Lstat(filepath.Join(l, rel)); err == nil {
			if isWhiteout(fi) {
				break
			}
			if found == nil {
				found = fi
			}
			if !fi.IsDir() {
				break
			}
			contrib = append(contrib, l)
			if isOpaque(filepath.Join(l, rel)) {
				break
			}
		}
		if blocked {
			break
		}
	}
	return found, contrib
}

// hiddenBelow reports whether layer l blocks the layers below it for rel:
// some proper ancestor of rel is opaque, a whiteout or a non-directory in l.
func hiddenBelow(l, rel string) bool {
	for dir := filepath.Dir(rel); dir != "." && dir != "/" && dir != ""; dir = filepath.Dir(dir) {
		fi, err := os.Lstat(filepath.Join(l, dir))
		if err != nil {
			continue
		}
		if !fi.IsDir() || isOpaque(filepath.Join(l, dir)) {
			return true
		}
	}
	return false
}

// whiteoutHidden creates a whiteout in the upper dir abs for every entry the
// lower layers have under rel that the upper dir does not replace.
func whiteoutHidden(abs, rel string, layers []string) error {
	seen := map[string]bool{}
	for _, l := range layers {
		ents, err := os.ReadDir(filepath.Join(l, rel))
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if seen[name] {
				continue
			}
			seen[name] = true
			if fi, err := e.Info(); err == nil && isWhiteout(fi) {
				continue
			}
			if _, err := os.Lstat(filepath.Join(abs, name)); err == nil {
				continue
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if err := unix.Mknod(filepath.Join(abs, name), unix.S_IFCHR, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

func isOpaque(p string) bool {
	for _, name := range archive.OpaqueXattrs {
		if hasXattr(p, name) {
			return true
		}
	}
	return false
}

// hasXattr reports whether p carries the opaque marker name="y".
func hasXattr(p, name string) bool {
	buf := make([]byte, 4)
	n, err := unix.Lgetxattr(p, name, buf)
	return err == nil && n == 1 && buf[0] == 'y'
}

func isWhiteout(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&os.ModeCharDevice != 0 && st.Rdev == 0
}

// sameDir compares what a layer records of a directory.
func sameDir(a, b os.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && a.Mode() == b.Mode() && sa.Uid == sb.Uid && sa.Gid == sb.Gid &&
		sa.Mtim == sb.Mtim
}
