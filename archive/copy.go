package archive

import (
	"context"
	"io"
	"os"
)

// CopyTree copies the files of the directory src into dst through a layer
// tar stream (WriteLayer → Apply), keeping owners, modes, links and xattrs;
// an ordinary user keeps its own ids. When src holds a layer in overlay
// format, its whiteouts and opaque directories take effect in dst as in a
// merged view.
func CopyTree(ctx context.Context, src, dst string, opts ...ApplyOption) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(WriteLayer(ctx, pw, src)) }()
	if os.Geteuid() != 0 {
		opts = append(opts, WithNoSameOwner())
	}
	_, err := Apply(ctx, dst, pr, opts...)
	pr.CloseWithError(err)
	return err
}
