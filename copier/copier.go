package copier

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync/atomic"

	"github.com/moby/patternmatcher"
)

var (
	// ErrNotFound reports a source that matches nothing in the source root.
	ErrNotFound = errors.New("copier: not found")
	// ErrOutsideContext reports a source path, or a symlink on it, that
	// leads outside the source root.
	ErrOutsideContext = errors.New("copier: forbidden path outside the build context")
	// ErrMultipleSources reports several sources copied to a destination that is not a directory.
	ErrMultipleSources = errors.New("copier: When using COPY with more than one source file, the destination must be a directory and end with a /")
	// ErrNotDir reports a directory copied onto an existing non-directory.
	ErrNotDir = errors.New("copier: cannot copy to non-directory")
	// ErrIsDir reports a file copied onto an existing directory it would replace.
	ErrIsDir = errors.New("copier: cannot replace directory with file")
	// ErrInvalidOwner reports a malformed --chown value.
	ErrInvalidOwner = errors.New("copier: invalid --chown value")
	// ErrUnknownOwner reports a --chown user or group name missing from the destination's /etc/passwd or /etc/group.
	ErrUnknownOwner = errors.New("copier: unknown --chown user or group")
)

// notFoundError names the source that matched nothing; it is ErrNotFound.
type notFoundError struct{ path string }

func (e *notFoundError) Error() string { return fmt.Sprintf("%q not found", e.path) }
func (e *notFoundError) Unwrap() error { return ErrNotFound }

// Source is where COPY reads from.
type Source struct {
	// Root is the directory source paths are relative to: the build
	// context directory, or the root filesystem of another stage or image.
	Root string
	// Filter, if set, reports whether rel (a slash path relative to Root)
	// must be skipped, as .dockerignore does; see buildcontext.Context.Excluded.
	Filter func(rel string) (bool, error)
	// FilterExceptions tells that Filter has "!" exceptions, so an excluded
	// directory may hold re-included paths and is walked instead of
	// skipped (buildcontext.Context.HasExceptions).
	FilterExceptions bool
	// KeepOwner keeps the source uid/gid (COPY --from); otherwise files
	// become 0:0, as for the build context.
	KeepOwner bool
	// SocketsAsFiles copies a unix socket as an empty regular file with
	// its permission bits: the build context reaches BuildKit through
	// fsutil's transfer, which drops the socket type.
	SocketsAsFiles bool
}

// Owner is a numeric uid and gid.
type Owner struct{ UID, GID int }

// Options are COPY's flags.
type Options struct {
	// Chown is --chown resolved to numeric ids (see ResolveOwner); nil keeps the default owner.
	Chown *Owner
	// Chmod is --chmod: it replaces the permission bits (and setuid,
	// setgid, sticky) of copied files and directories; nil keeps the source mode.
	Chmod *Chmod
	// Excludes are the COPY --exclude patterns, relative to each source.
	Excludes []string
	// Parents is COPY --parents: each source keeps its path (below a
	// "/./" pivot, if any) under dest; see parents.go.
	Parents bool
	// Unpack, if set, extracts the archives among the matched files
	// instead of copying them (ADD).
	Unpack Unpacker
	// Below, if set, is a read-only view of the tree the destination root
	// lies over: the root is then a step's upper dir, empty or holding only
	// what earlier Copy calls of the step wrote, and Copy writes into it
	// what the merged tree would gain, without a merged mount (see
	// destFS). Not with Unpack.
	Below string
	// Bytes, if set, gets the size of every regular file Copy writes (a
	// hard link's too, as a walk of the result counts it) added.
	Bytes *atomic.Int64
}

// Unpacker extracts archives for ADD: Copy asks it about every matched
// regular file, in order, and extracts each archive instead of copying it.
type Unpacker interface {
	// IsArchive reports whether the file at the host path abs is an
	// archive to extract.
	IsArchive(abs string) (bool, error)
	// Unpack extracts the archive at the host path abs into the
	// directory dest (an absolute path inside destRoot, made if missing).
	Unpack(ctx context.Context, abs, destRoot, dest string) error
}

// Copy copies srcs (as written in the Dockerfile, variables expanded, with
// optional wildcards * ? [..]) from src into the root filesystem destRoot,
// at dest: an absolute path inside destRoot (already joined with WORKDIR),
// keeping the trailing slash if the user wrote one.
//
// A directory source has its contents copied into dest. A file source is
// written inside dest when dest ends with "/" or is an existing directory,
// else it becomes the file dest. Symlinks named as sources are followed,
// confined to Root; symlinks in copied trees are copied as symlinks.
func Copy(ctx context.Context, src Source, srcs []string, destRoot, dest string, opts Options) error {
	if opts.Below != "" && opts.Unpack != nil {
		return errors.New("copier: Options.Below does not go with Unpack")
	}
	c, err := newCopier(src, destRoot, opts)
	if err != nil {
		return err
	}
	items, err := c.collect(ctx, srcs)
	if err != nil {
		return err
	}
	if len(items) == 0 && !opts.Parents {
		return fmt.Errorf("%w: no source files were specified", ErrNotFound)
	}
	archives, err := c.archives(items)
	if err != nil {
		return err
	}
	destIsDir := wantsDir(dest)
	if err := c.checkMultiple(items, archives, dest); err != nil {
		return err
	}
	group := -1
	for i, it := range items {
		if it.group != group { // hard links are tracked per Dockerfile source
			group = it.group
			c.links = map[inodeKey]string{}
		}
		if archives[i] {
			if err := opts.Unpack.Unpack(ctx, c.src.abs(it.real), destRoot, dest); err != nil {
				return fmt.Errorf("extracting %s: %w", it.name, err)
			}
			continue
		}
		if err := c.copyItem(ctx, it, dest, destIsDir); err != nil {
			return fmt.Errorf("copying %s: %w", it.name, err)
		}
	}
	return nil
}

// archives tells which items Options.Unpack extracts instead of copying.
func (c *copier) archives(items []item) ([]bool, error) {
	out := make([]bool, len(items))
	if c.opts.Unpack == nil {
		return out, nil
	}
	for i, it := range items {
		if !it.fi.Mode().IsRegular() {
			continue
		}
		ok, err := c.opts.Unpack.IsArchive(c.src.abs(it.real))
		if err != nil {
			return nil, err
		}
		out[i] = ok
	}
	return out, nil
}

// checkMultiple refuses several copied files (archives aside) for a dest
// that is not a directory. --parents copies each source below its own
// directories and is exempt, as in BuildKit.
func (c *copier) checkMultiple(items []item, archives []bool, dest string) error {
	var copied []item
	for i, it := range items {
		if !archives[i] {
			copied = append(copied, it)
		}
	}
	if len(copied) < 2 || wantsDir(dest) || c.opts.Parents || copied[0].fi.IsDir() {
		return nil
	}
	isDir, err := c.dst.isDir(dest)
	if err != nil {
		return err
	}
	if !isDir {
		return ErrMultipleSources
	}
	return nil
}

// copier holds the state of one Copy call.
type copier struct {
	src      sourceFS
	dst      *destFS
	opts     Options
	excludes *patternmatcher.PatternMatcher // nil without --exclude
	links    map[inodeKey]string            // source inode → first copy
	sem      chan struct{}                  // file copy workers (jobs.go)
}

func newCopier(src Source, destRoot string, opts Options) (*copier, error) {
	c := &copier{
		src:   sourceFS{Source: src},
		dst:   newDestFS(destRoot, opts),
		opts:  opts,
		links: map[inodeKey]string{},
		sem:   make(chan struct{}, copyWorkers),
	}
	if len(opts.Excludes) > 0 {
		pm, err := patternmatcher.New(opts.Excludes)
		if err != nil {
			return nil, fmt.Errorf("invalid --exclude patterns %q: %w", opts.Excludes, err)
		}
		c.excludes = pm
	}
	return c, nil
}

// wantsDir reports whether dest, as written, names a directory.
func wantsDir(dest string) bool {
	return dest == "" || dest == "." || strings.HasSuffix(dest, "/") || strings.HasSuffix(dest, "/.")
}

// cleanDest returns dest as a clean absolute slash path.
func cleanDest(dest string) string {
	return path.Clean("/" + dest)
}
