package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/kiln-build/kiln/copier"
	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/plan"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// WithNamedContexts resolves the names of --build-context values to them
// (keys are plan.ContextName forms): a directory, docker-image://REF or
// oci-layout://PATH[:TAG|@DIGEST]. target:STAGE values are the plan's.
func WithNamedContexts(ctxs map[string]string) Option {
	return func(r *Resolver) { r.contexts = ctxs }
}

// namedContext resolves ref through a named build context, if one has its
// name.
func (r *Resolver) namedContext(ctx context.Context, ref string, plat ocispecs.Platform) (*image.Image, bool, error) {
	if len(r.contexts) == 0 || strings.EqualFold(ref, "scratch") {
		return nil, false, nil
	}
	v, ok := r.contexts[plan.ContextName(ref)]
	if !ok || strings.HasPrefix(v, "target:") {
		return nil, false, nil
	}
	var img *image.Image
	var err error
	switch {
	case strings.HasPrefix(v, "docker-image://"):
		img, err = r.resolve(ctx, strings.TrimPrefix(v, "docker-image://"), plat)
	case strings.HasPrefix(v, "oci-layout://"):
		img, err = r.fromLayoutRef(ctx, strings.TrimPrefix(v, "oci-layout://"), v, plat)
	case strings.Contains(v, "://"):
		err = fmt.Errorf("unsupported build context %q (want a directory, docker-image:// or oci-layout://)", v)
	default:
		img, err = dirImage(ctx, v, plat)
	}
	if err != nil {
		return nil, true, fmt.Errorf("build context %s=%s: %w", ref, v, err)
	}
	return img, true, nil
}

// dirImage is a local directory as an image: its files as the one layer
// (read in place: snapshots only ever read their lowers), and the config
// of an empty image. Its ID is the digest of the files' content and
// metadata, so steps on it are cached while the directory is unchanged.
func dirImage(ctx context.Context, dir string, plat ocispecs.Platform) (*image.Image, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	sum, err := copier.Checksum(ctx, copier.Source{Root: abs, KeepOwner: true}, []string{"/"}, copier.Options{}, nil)
	if err != nil {
		return nil, err
	}
	img := Scratch(plat)
	id, err := v1.NewHash("sha256:" + strings.TrimPrefix(sum, "sha256:"))
	if err != nil {
		return nil, fmt.Errorf("checksum %s: %w", sum, err)
	}
	img.ID = id
	img.Layers = []image.Layer{{Dir: abs}}
	return img, nil
}
