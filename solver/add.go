package solver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/copier"
)

// addSpecial handles ADD's URL sources: it downloads them into dest and
// returns the local sources, left for copier.Copy (which extracts the
// local archives among them through opts.Unpack, see archiveUnpacker).
func (s *stage) addSpecial(ctx context.Context, j copyJob, root, dest string, opts copier.Options) ([]string, error) {
	var rest []string
	for _, p := range j.srcs {
		if !isURL(p) {
			rest = append(rest, p)
			continue
		}
		if err := s.addURL(ctx, p, root, dest, len(j.srcs) > 1, j, opts); err != nil {
			return nil, err
		}
	}
	return rest, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// archiveUnpacker extracts ADD's local tar archives (plain, gzip, bzip2,
// xz, zstd) as BuildKit does: into the destination directory, owned by
// --chown if given, following the symlinks already there as if the
// destination were the root (BuildKit extracts in a chroot), never out of it.
type archiveUnpacker struct {
	owner *copier.Owner
}

var _ copier.Unpacker = archiveUnpacker{}

func (archiveUnpacker) IsArchive(abs string) (bool, error) {
	return archive.IsArchive(abs)
}

func (u archiveUnpacker) Unpack(ctx context.Context, abs, root, dest string) error {
	f, err := os.Open(abs)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := archive.Decompress(f)
	if err != nil {
		return err
	}
	defer r.Close()
	dir, err := securejoin.SecureJoin(root, dest)
	if err != nil {
		return err
	}
	uid, gid := 0, 0
	opts := []archive.ApplyOption{archive.WithSymlinksInRoot()}
	if u.owner != nil {
		uid, gid = u.owner.UID, u.owner.GID
		opts = append(opts, archive.WithOwner(uid, gid))
	}
	if _, err := mkdirAllOwned(root, strings.TrimPrefix(dir, root), uid, gid); err != nil {
		return err
	}
	_, err = archive.Apply(ctx, dir, r, opts...)
	return err
}

// addURL downloads u and copies it to dest like a file source: mode 0600,
// mtime from Last-Modified, named after the URL path when dest is a dir.
func (s *stage) addURL(ctx context.Context, u, root, dest string, many bool, j copyJob, opts copier.Options) error {
	checksum := j.checksum
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("downloading %s: %s", u, resp.Status)
	}
	name := "__unnamed__" // BuildKit's name for a URL without a file name
	if pu, err := url.Parse(u); err == nil && path.Base(pu.Path) != "/" && path.Base(pu.Path) != "." {
		name = path.Base(pu.Path)
	}
	dir, err := os.MkdirTemp(s.tmp, "add-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, name)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("downloading %s: %w", u, err)
	}
	f.Close()
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); checksum != "" && got != checksum {
		return fmt.Errorf("ADD %s: checksum mismatch: content is %s, --checksum wants %s", u, got, checksum)
	}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		os.Chtimes(tmp, lm, lm)
	} else {
		os.Chtimes(tmp, time.Unix(0, 0), time.Unix(0, 0))
	}
	if many && !strings.HasSuffix(dest, "/") {
		dest += "/"
	}
	opts.Unpack = nil
	if j.unpackURL { // ADD --unpack=true extracts a downloaded archive, as BuildKit
		opts.Unpack = archiveUnpacker{owner: opts.Chown}
	}
	return copier.Copy(ctx, copier.Source{Root: dir}, []string{name}, root, dest, opts)
}
