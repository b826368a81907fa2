package archive

import (
	"errors"
	"time"
)

// ApplyOption changes how Apply extracts a layer.
type ApplyOption func(*applyOptions)

type applyOptions struct {
	overlayWhiteouts bool
	noSameOwner      bool
	symlinksInRoot   bool
	owner            *[2]int
	maxEntries       *int64 // nil: KILN_MAX_LAYER_ENTRIES or DefaultMaxEntries
	maxBytes         *int64 // nil: KILN_MAX_LAYER_BYTES or DefaultMaxBytes
}

// WithOverlayWhiteouts makes Apply write OCI whiteouts in overlay format:
// ".wh.X" becomes a 0/0 character device X and ".wh..wh..opq" sets
// trusted.overlay.opaque=y on its directory. Use it when the destination is
// a snapshot (overlay upper) directory. Without it a whiteout removes the
// named path, and an opaque marker removes every existing child of its
// directory that the same tar did not write.
func WithOverlayWhiteouts() ApplyOption {
	return func(o *applyOptions) { o.overlayWhiteouts = true }
}

// WithNoSameOwner makes Apply leave ownership to the calling user instead
// of applying the uid and gid recorded in the tar.
func WithNoSameOwner() ApplyOption {
	return func(o *applyOptions) { o.noSameOwner = true }
}

// WithSymlinksInRoot makes Apply follow the symlinks already on an entry's
// parent path, or on a hard link target's, as if dir were the root
// directory, the way an extraction chrooted into dir does (BuildKit's ADD
// of a local archive): an absolute target and ".." resolve inside dir,
// never out of it. The entry's own name is never followed. Without this
// option any symlink on the way is ErrBreakout (layer extraction).
func WithSymlinksInRoot() ApplyOption {
	return func(o *applyOptions) { o.symlinksInRoot = true }
}

// WithOwner makes every extracted entry owned by uid:gid, whatever the tar
// says (ADD --chown of an archive).
func WithOwner(uid, gid int) ApplyOption {
	return func(o *applyOptions) { o.owner = &[2]int{uid, gid} }
}

// WithMaxEntries makes Apply fail with a *LimitError on a layer of more
// than n tar entries (0: no limit). Without it the limit is
// $KILN_MAX_LAYER_ENTRIES, or DefaultMaxEntries.
func WithMaxEntries(n int64) ApplyOption {
	return func(o *applyOptions) { o.maxEntries = &n }
}

// WithMaxBytes makes Apply fail with a *LimitError on a layer whose
// regular files hold more than n bytes (0: no limit). Without it the limit
// is $KILN_MAX_LAYER_BYTES, or DefaultMaxBytes.
func WithMaxBytes(n int64) ApplyOption {
	return func(o *applyOptions) { o.maxBytes = &n }
}

func makeApplyOptions(opts []ApplyOption) (applyOptions, error) {
	var o applyOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.maxEntries == nil {
		n, err := envLimit(EnvMaxEntries, DefaultMaxEntries, false)
		if err != nil {
			return o, err
		}
		o.maxEntries = &n
	}
	if o.maxBytes == nil {
		n, err := envLimit(EnvMaxBytes, DefaultMaxBytes, true)
		if err != nil {
			return o, err
		}
		o.maxBytes = &n
	}
	if *o.maxEntries < 0 || *o.maxBytes < 0 {
		return o, errors.New("archive: negative layer limit")
	}
	return o, nil
}

// checkLimits fails once a layer has more than the allowed entries, or
// its next file would take the content past the allowed bytes.
func (o applyOptions) checkLimits(entries, written, next int64) error {
	if n := *o.maxEntries; n > 0 && entries > n {
		return &LimitError{What: "entries", Limit: n, Env: EnvMaxEntries, Opt: "archive.WithMaxEntries"}
	}
	if n := *o.maxBytes; n > 0 && written+next > n {
		return &LimitError{What: "bytes of file content", Limit: n, Env: EnvMaxBytes, Opt: "archive.WithMaxBytes"}
	}
	return nil
}

// WriteOption changes how WriteLayer writes a layer.
type WriteOption func(*writeOptions)

type writeOptions struct {
	clamp *time.Time
}

// WithMtimeClamp writes every mtime later than t as t (BuildKit's
// rewrite-timestamp for SOURCE_DATE_EPOCH builds).
func WithMtimeClamp(t time.Time) WriteOption {
	return func(o *writeOptions) { o.clamp = &t }
}

// clampTime applies the clamp, if any, to a header time.
func (o writeOptions) clampTime(t time.Time) time.Time {
	if o.clamp != nil && t.After(*o.clamp) {
		return *o.clamp
	}
	return t
}
