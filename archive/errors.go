package archive

import "errors"

var (
	// ErrBreakout is returned by Apply for an entry whose name, parent
	// path or hard link target would leave the destination directory, or
	// would be reached through a symbolic link.
	ErrBreakout = errors.New("archive: path escapes the destination directory")

	// ErrUnsupportedType is returned by Apply for a tar entry type it cannot
	// create (for example GNU volume headers).
	ErrUnsupportedType = errors.New("archive: unsupported tar entry type")

	// ErrInvalidOwner is returned by Apply for an entry whose uid or gid
	// does not fit in 32 bits (it would be truncated, 2^40 to 0 = root).
	ErrInvalidOwner = errors.New("archive: uid or gid out of range")
)
