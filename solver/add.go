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

// addSpecial handles ADD's extra sources: it downloads URLs and extracts
// local tar archives (plain, gzip, bzip2, xz, zstd) into dest, and returns
// the sources left for a plain copy.
func (s *stage) addSpecial(ctx context.Context, src copier.Source, j copyJob, root, dest string, opts copier.Options) ([]string, error) {
	var rest []string
	srcs := j.srcs
	for _, p := range srcs {
		switch {
		case isURL(p):
			if err := s.addURL(ctx, p, root, dest, len(srcs) > 1, j, opts); err != nil {
				return nil, err
			}
		case !j.unpack:
			rest = append(rest, p)
		default:
			extracted, err := extractIfArchive(ctx, src, p, root, dest, opts.Chown)
			if err != nil {
				return nil, err
			}
			if !extracted {
				rest = append(rest, p)
			}
		}
	}
	return rest, nil
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// extractIfArchive extracts a local archive source (no wildcards) into dest.
func extractIfArchive(ctx context.Context, src copier.Source, p, root, dest string, owner *copier.Owner) (bool, error) {
	if strings.ContainsAny(p, "*?[") || src.Filter == nil {
		return false, nil
	}
	if ex, err := src.Filter(strings.TrimPrefix(path.Clean("/"+p), "/")); err != nil || ex {
		return false, err
	}
	full, err := securejoin.SecureJoin(src.Root, p)
	if err != nil {
		return false, err
	}
	fi, err := os.Stat(full)
	if err != nil || !fi.Mode().IsRegular() {
		return false, nil
	}
	ok, err := archive.IsArchive(full)
	if err != nil || !ok {
		return false, err
	}
	f, err := os.Open(full)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r, err := archive.Decompress(f)
	if err != nil {
		return false, err
	}
	defer r.Close()
	dir, err := securejoin.SecureJoin(root, dest)
	if err != nil {
		return false, err
	}
	uid, gid := 0, 0
	var opts []archive.ApplyOption
	if owner != nil {
		uid, gid = owner.UID, owner.GID
		opts = append(opts, archive.WithOwner(uid, gid))
	}
	if _, err := mkdirAllOwned(root, strings.TrimPrefix(dir, root), uid, gid); err != nil {
		return false, err
	}
	if _, err := archive.Apply(ctx, dir, r, opts...); err != nil {
		return false, fmt.Errorf("extracting %s: %w", p, err)
	}
	return true, nil
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
	if j.unpackURL { // ADD --unpack=true extracts a downloaded archive, as BuildKit
		src := copier.Source{Root: dir, Filter: func(string) (bool, error) { return false, nil }}
		extracted, err := extractIfArchive(ctx, src, name, root, dest, opts.Chown)
		if err != nil || extracted {
			return err
		}
	}
	return copier.Copy(ctx, copier.Source{Root: dir}, []string{name}, root, dest, opts)
}
