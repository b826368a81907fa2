package solver

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/source"
)

// resolveEpoch resolves a SOURCE_DATE_EPOCH that names its source (see
// plan/epoch.go) and sets the result in every platform's plan, before any
// stage runs, as BuildKit's frontend does.
func (b *build) resolveEpoch(ctx context.Context, plans []*plan.Plan) error {
	src := plans[0].EpochSource()
	if src == nil {
		return nil
	}
	var t *time.Time
	if src.Stage != nil {
		var err error
		if t, err = b.stageEpoch(ctx, src); err != nil {
			return dockerfile.Errorf(plans[0].File.Name, src.Stage.Inst.Location, "SOURCE_DATE_EPOCH=%s: %v", src.Value, err)
		}
	}
	shown := "unset (no time in a local or image context)"
	if t != nil {
		shown = fmt.Sprintf("%d (%s)", t.Unix(), t.UTC().Format(time.RFC3339))
	}
	progress.Notef(b.sink, "SOURCE_DATE_EPOCH=%s: %s", src.Value, shown)
	for _, p := range plans {
		p.SetEpoch(t)
	}
	return nil
}

// stageEpoch is the time of a source-only stage's ADD source: a git
// commit's committer time; for HTTP(S), the Last-Modified header, else the
// newest regular file in the download if it is a (compressed) tar, else none.
func (b *build) stageEpoch(ctx context.Context, src *plan.EpochSource) (*time.Time, error) {
	if isURL(src.URL) && !source.IsGitURL(src.URL) {
		return httpEpoch(ctx, src.URL, src.Checksum)
	}
	if source.IsGitURL(src.URL) {
		return b.gitEpoch(ctx, src)
	}
	return nil, fmt.Errorf("SOURCE_DATE_EPOCH stage source must be a single HTTP(S) or Git ADD")
}

// httpEpoch downloads u for its time.
func httpEpoch(ctx context.Context, u, checksum string) (*time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading %s: %s", u, resp.Status)
	}
	f, err := os.CreateTemp("", "kiln-epoch-")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(f, h), resp.Body); err != nil {
		return nil, fmt.Errorf("downloading %s: %w", u, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); checksum != "" && got != checksum {
		return nil, fmt.Errorf("checksum mismatch: %s is %s, --checksum wants %s", u, got, checksum)
	}
	if lm, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		lm = lm.UTC()
		return &lm, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return archiveMaxTime(f), nil
}

// archiveMaxTime is the newest mtime of a regular file in the (compressed)
// tar r, or nil when r is no tar or holds no regular file.
func archiveMaxTime(r io.Reader) *time.Time {
	rc, err := archive.Decompress(r)
	if err != nil {
		return nil
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var max *time.Time
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return max
		}
		if err != nil {
			return nil
		}
		if !hdr.FileInfo().Mode().IsRegular() {
			continue
		}
		if t := hdr.ModTime.UTC(); max == nil || t.After(*max) {
			max = &t
		}
	}
}

// gitEpoch is the committer time of the commit a git source names.
func (b *build) gitEpoch(ctx context.Context, src *plan.EpochSource) (*time.Time, error) {
	env, stop, err := (&stage{build: b}).gitSSHEnv(ctx)
	if err != nil {
		return nil, err
	}
	defer stop()
	ref, err := source.ResolveGit(ctx, src.URL, source.WithChecksum(src.Checksum), source.WithGitEnv(env...))
	if err != nil {
		return nil, err
	}
	ref.Subdir, ref.KeepGitDir = "", true
	dir, err := os.MkdirTemp(b.tmp, "epoch-git-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := source.FetchGit(ctx, ref, filepath.Join(dir, "src"), source.WithGitEnv(env...)); err != nil {
		return nil, err
	}
	t, err := commitTime(ctx, filepath.Join(dir, "src"))
	if err != nil {
		return nil, err
	}
	t = t.UTC()
	return &t, nil
}
