package solver

import (
	"context"
	"os"
	"sync"

	"github.com/kiln-build/kiln/buildcontext"
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/copier"
	"github.com/kiln-build/kiln/progress"
)

// contextFiles is the build context as COPY, ADD and bind mounts read it:
// the directory with its .dockerignore, and checksums of its files through
// the persistent stat cache (an unchanged file is not read again).
type contextFiles struct {
	bctx  *buildcontext.Context
	index *cache.Index
	mu    sync.Mutex
	stat  *cache.StatCache // opened on first use
}

func openContext(dir, dockerfile string, idx *cache.Index) (*contextFiles, error) {
	ign, err := buildcontext.LoadIgnore(dir, dockerfile)
	if err != nil {
		return nil, err
	}
	bctx, err := buildcontext.New(dir, ign)
	if err != nil {
		return nil, err
	}
	return &contextFiles{bctx: bctx, index: idx}, nil
}

// source is the context as copier reads it.
func (c *contextFiles) source() copier.Source {
	return copier.Source{Root: c.bctx.Dir(), Filter: c.bctx.Excluded, FilterExceptions: c.bctx.HasExceptions(),
		SocketsAsFiles: true}
}

// checksum names the content of the context paths a step selects (with
// opts' --exclude and --parents).
func (c *contextFiles) checksum(ctx context.Context, paths []string, opts copier.Options) (string, error) {
	return copier.Checksum(ctx, c.source(), paths, opts, c.digest)
}

// digest hashes a context file through the stat cache.
func (c *contextFiles) digest(abs string, fi os.FileInfo) (string, error) {
	c.mu.Lock()
	if c.stat == nil {
		sc, err := cache.NewStatCache(c.index, c.bctx.Dir())
		if err != nil {
			c.mu.Unlock()
			return "", err
		}
		c.stat = sc
	}
	sc := c.stat
	c.mu.Unlock()
	return sc.Digest(abs, fi)
}

// finish reports what the stat cache saved and writes it back.
func (c *contextFiles) finish(sink progress.Sink) error {
	if c.stat == nil {
		return nil
	}
	files, read := c.stat.Counts()
	switch {
	case read == files:
		progress.Notef(sink, "context: %d files read", files)
	default:
		progress.Notef(sink, "context: %d files checked, %d read (the rest unchanged since the last build)", files, read)
	}
	return c.stat.Flush()
}
