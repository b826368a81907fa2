package solver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/copier"
	"github.com/kiln-build/kiln/source"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/opencontainers/go-digest"
)

// copyJob is one COPY or ADD, normalised.
type copyJob struct {
	name      string // "COPY" or "ADD"
	from      string
	srcs      []string
	contents  []instructions.SourceContent
	dest      string
	chown     string
	chmod     string
	excludes  []string
	parents   bool
	add       bool   // ADD: URLs are downloaded
	unpack    bool   // ADD: local archives are extracted (default, or --unpack)
	unpackURL bool   // ADD --unpack=true: downloaded archives are extracted too
	checksum  string // ADD --checksum of URL sources
	loc       any
}

func (s *stage) runCopy(ctx context.Context, c *instructions.CopyCommand) error {
	return s.copy(ctx, copyJob{name: "COPY", from: c.From, srcs: c.SourcePaths, contents: c.SourceContents,
		dest: c.DestPath, chown: c.Chown, chmod: c.Chmod, excludes: c.ExcludePatterns, parents: c.Parents,
		loc: c.Location()})
}

func (s *stage) runAdd(ctx context.Context, c *instructions.AddCommand) error {
	j := copyJob{name: "ADD", srcs: c.SourcePaths, contents: c.SourceContents, dest: c.DestPath,
		chown: c.Chown, chmod: c.Chmod, excludes: c.ExcludePatterns, add: true, unpack: c.Unpack == nil || *c.Unpack,
		unpackURL: c.Unpack != nil && *c.Unpack,
		checksum:  c.Checksum, loc: c.Location()}
	for _, src := range c.SourcePaths {
		if source.IsGitURL(src) {
			return s.addGit(ctx, c, j)
		}
	}
	if c.KeepGitDir != nil {
		return s.errorf(c.Location(), "ADD --keep-git-dir is only for git sources")
	}
	if c.Checksum != "" {
		if _, err := digest.Parse(c.Checksum); err != nil { // as BuildKit, before any download
			return s.errorf(c.Location(), "ADD --checksum=%s: %v (want ALGORITHM:HEX, e.g. sha256:…)", c.Checksum, err)
		}
		for _, src := range c.SourcePaths {
			if !isURL(src) {
				return s.errorf(c.Location(), "ADD --checksum is only supported for HTTP(S) and git sources, not %s", src)
			}
		}
	}
	return s.copy(ctx, j)
}

func (s *stage) copy(ctx context.Context, j copyJob) error {
	opts := copier.Options{Excludes: j.excludes, Parents: j.parents}
	if j.chmod != "" {
		m, err := copier.ParseChmod(j.chmod)
		if err != nil {
			return s.errorf(j.loc, "%s --chmod: %w", j.name, err)
		}
		opts.Chmod = m
	}
	dest := s.destPath(j.dest)
	key, err := s.copyKey(ctx, j, dest)
	if err != nil {
		return s.errorf(j.loc, "%s failed: %w", j.name, err)
	}
	step := func(root, below string) (int64, error) {
		src, release, err := s.copySource(ctx, j)
		if err != nil {
			return 0, err
		}
		defer release()
		var size atomic.Int64
		opts.Below, opts.Bytes = below, &size
		err = s.withCopySlot(ctx, cmp.Or(below, root), j.chown, &opts, func() error {
			return s.copyInto(ctx, j, src, root, dest, opts)
		})
		if below == "" { // the merged tree: what it replaced is not counted
			return -1, err
		}
		return size.Load(), err
	}
	if j.add { // (ADD extracts archives, which needs the merged tree)
		err = s.layerStep(ctx, key, func(root string) error { _, err := step(root, ""); return err })
	} else {
		err = s.layerStepUpper(ctx, key, step)
	}
	if err != nil {
		return s.errorf(j.loc, "%s failed: %w", j.name, err)
	}
	if j.from != "" {
		origin := j.from
		if dep := s.plan.StageByRef(j.from); dep != nil {
			origin = dep.Ref()
		}
		s.img.Layers[len(s.img.Layers)-1].Origin = origin
	}
	s.img.Layers[len(s.img.Layers)-1].Made.Sources = append(append([]string(nil), j.srcs...), heredocNames(j)...)
	s.history(copyHistory(j), true, true)
	return nil
}

// withCopySlot runs copy with a job slot held and opts.Chown resolved
// against the step's tree (--chown names users of the image being built).
func (s *stage) withCopySlot(ctx context.Context, root, chown string, opts *copier.Options, copy func() error) error {
	done, err := s.sched.acquire(ctx)
	if err != nil {
		return err
	}
	defer done()
	if chown != "" {
		o, err := copier.ResolveOwner(root, chown)
		if err != nil {
			return err
		}
		opts.Chown = &o
	}
	return copy()
}

// copyInto copies the job's path sources, heredoc sources and (for ADD)
// URLs and archives into root.
func (s *stage) copyInto(ctx context.Context, j copyJob, src copier.Source, root, dest string, opts copier.Options) error {
	srcs := j.srcs
	if j.add {
		var err error
		if srcs, err = s.addSpecial(ctx, j, root, dest, opts); err != nil {
			return err
		}
	}
	if len(srcs) > 0 {
		local := opts
		if j.add && j.unpack {
			local.Unpack = archiveUnpacker{owner: opts.Chown}
		}
		if err := copier.Copy(ctx, src, srcs, root, dest, local); err != nil {
			return err
		}
	}
	if len(j.contents) == 0 {
		return nil
	}
	dir, err := os.MkdirTemp(s.tmp, "heredoc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var names []string
	for _, sc := range j.contents {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(sc.Path)), []byte(sc.Data), 0o644); err != nil {
			return err
		}
		names = append(names, filepath.Base(sc.Path))
	}
	if len(names)+len(srcs) > 1 && !strings.HasSuffix(dest, "/") {
		dest += "/"
	}
	return copier.Copy(ctx, copier.Source{Root: dir}, names, root, dest, opts)
}

// copySource opens what a COPY reads from: the build context, another
// stage's files, or an image's.
func (s *stage) copySource(ctx context.Context, j copyJob) (copier.Source, func(), error) {
	noop := func() {}
	if j.from == "" {
		if s.files == nil {
			if len(j.srcs) == 0 {
				return copier.Source{Root: s.tmp}, noop, nil
			}
			return copier.Source{}, noop, errNoContext
		}
		return s.files.source(), noop, nil
	}
	lowers, err := s.lowersOf(ctx, j.from)
	if err != nil {
		return copier.Source{}, noop, fmt.Errorf("--from=%s: %w", j.from, err)
	}
	v, err := s.layers.snaps.View(ctx, lowers)
	if err != nil {
		return copier.Source{}, noop, err
	}
	return copier.Source{Root: v.Root(), KeepOwner: true}, func() { v.Release() }, nil
}

// errNoContext is the error of a step that reads the build context when
// there is none.
var errNoContext = errors.New("no build context (the Dockerfile came from stdin with no context dir)")

// copyKey is the cache key of a COPY or ADD: its expanded arguments and
// the identity of exactly what it reads — a content checksum of the
// selected context files, the source stage's key, or the image digest.
func (s *stage) copyKey(ctx context.Context, j copyJob, dest string) (string, error) {
	for _, src := range j.srcs {
		// a URL's content is unknown until fetched, unless --checksum pins it
		if j.add && isURL(src) && j.checksum == "" {
			return uniqueKey(s.key, j.name), nil
		}
	}
	k := cache.NewKey(s.key, j.name).AddList("srcs", j.srcs).Add("dest", dest).Add("chown", j.chown).Add("checksum", j.checksum).
		Add("chmod", j.chmod).AddList("exclude", j.excludes).Add("parents", fmt.Sprint(j.parents))
	if j.add && (!j.unpack || j.unpackURL) {
		k.Add("unpack", fmt.Sprint(j.unpack, j.unpackURL)) // (absent for the default, so old keys hold)
	}
	for _, c := range j.contents {
		k.Add("heredoc:"+c.Path, c.Data)
	}
	local := j.srcs
	if j.add { // URLs are named by the URL and --checksum, not by context files
		local = nil
		for _, src := range j.srcs {
			if !isURL(src) {
				local = append(local, src)
			}
		}
	}
	switch dep := s.plan.StageByRef(j.from); {
	case j.from == "" && len(local) > 0:
		if s.files == nil {
			return "", errNoContext
		}
		sum, err := s.files.checksum(ctx, local, copier.Options{Excludes: j.excludes, Parents: j.parents})
		if err != nil {
			return "", err
		}
		k.Add("context", sum)
	case j.from == "":
	case dep != nil:
		r, err := s.sched.wait(ctx, dep)
		if err != nil {
			return "", err
		}
		k.Add("stage", r.key)
	default:
		img, err := s.resolveFrom(ctx, j.from)
		if err != nil {
			return "", fmt.Errorf("--from=%s: %w", j.from, err)
		}
		k.Add("image", img.ID.String())
	}
	return k.String(), nil
}

// destPath joins a relative COPY dest with WORKDIR, keeping a trailing "/"
// (and treating "." as a directory), as BuildKit does.
func (s *stage) destPath(d string) string {
	p := d
	if !path.IsAbs(p) {
		p = path.Join("/", s.img.Config.Config.WorkingDir, p)
	}
	if d == "." || d == "" || strings.HasSuffix(d, "/") || strings.HasSuffix(d, "/.") {
		if !strings.HasSuffix(p, "/") {
			p += "/"
		}
	}
	return p
}

func heredocNames(j copyJob) []string {
	var out []string
	for _, c := range j.contents {
		out = append(out, "<<"+c.Path)
	}
	return out
}

// copyHistory is BuildKit's created_by text for COPY and ADD.
func copyHistory(j copyJob) string {
	var b strings.Builder
	b.WriteString(j.name)
	if j.parents {
		b.WriteString(" --parents")
	}
	if j.chown != "" {
		b.WriteString(" --chown=" + j.chown)
	}
	if j.chmod != "" {
		b.WriteString(" --chmod=" + j.chmod)
	}
	for _, s := range j.srcs {
		b.WriteString(" " + s)
	}
	for _, c := range j.contents {
		b.WriteString(" <<" + c.Path)
	}
	b.WriteString(" " + j.dest)
	return fmt.Sprint(b.String())
}
