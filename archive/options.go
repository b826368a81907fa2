package archive

import "time"

// ApplyOption changes how Apply extracts a layer.
type ApplyOption func(*applyOptions)

type applyOptions struct {
	overlayWhiteouts bool
	noSameOwner      bool
	symlinksInRoot   bool
	owner            *[2]int
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

func makeApplyOptions(opts []ApplyOption) applyOptions {
	var o applyOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
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
