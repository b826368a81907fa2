package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// readXattrs returns all extended attributes of p without following a
// final symlink.
func readXattrs(p string) (map[string][]byte, error) {
	names, err := listXattrs(p)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	out := make(map[string][]byte, len(names))
	for _, name := range names {
		v, err := getXattr(p, name)
		if errors.Is(err, unix.ENODATA) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading xattr %s of %s: %w", name, p, err)
		}
		out[name] = v
	}
	return out, nil
}

func listXattrs(p string) ([]string, error) {
	size := 256
	for {
		buf := make([]byte, size)
		n, err := unix.Llistxattr(p, buf)
		switch {
		case errors.Is(err, unix.ERANGE):
			size *= 4
			continue
		case errors.Is(err, unix.ENOTSUP):
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("listing xattrs of %s: %w", p, err)
		}
		var names []string
		for _, b := range bytes.Split(buf[:n], []byte{0}) {
			if len(b) > 0 {
				names = append(names, string(b))
			}
		}
		return names, nil
	}
}

func getXattr(p, name string) ([]byte, error) {
	size := 256
	for {
		buf := make([]byte, size)
		n, err := unix.Lgetxattr(p, name, buf)
		if errors.Is(err, unix.ERANGE) {
			size *= 4
			continue
		}
		if err != nil {
			return nil, err
		}
		return buf[:n], nil
	}
}

// setPAXXattrs records xattrs as SCHILY.xattr PAX records (archive/tar
// writes them sorted). Overlay bookkeeping and the host's SELinux label are
// left out.
func setPAXXattrs(hdr *tar.Header, xattrs map[string][]byte) {
	for name, v := range xattrs {
		if overlayXattr(name) || name == "security.selinux" {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords[paxXattrPrefix+name] = string(v)
	}
}

func isOpaque(xattrs map[string][]byte) bool {
	for _, name := range OpaqueXattrs {
		if string(xattrs[name]) == "y" {
			return true
		}
	}
	return false
}

// applyXattrs sets the SCHILY.xattr records of hdr on p (not following a
// final symlink). Overlay xattrs are never taken from a tar. Failures for
// lack of permission or support are ignored except for security.*.
func applyXattrs(p string, hdr *tar.Header) error {
	for key, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(key, paxXattrPrefix)
		if !ok || name == "" || overlayXattr(name) {
			continue
		}
		err := unix.Lsetxattr(p, name, []byte(v), 0)
		if err == nil {
			continue
		}
		ignorable := errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP)
		if ignorable && !strings.HasPrefix(name, "security.") {
			continue
		}
		return fmt.Errorf("setting xattr %s: %w", name, err)
	}
	return nil
}
