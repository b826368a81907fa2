package cli

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/kiln-build/kiln/archive"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/source"
	"github.com/kiln-build/kiln/store"
	"github.com/spf13/cobra"
)

func newSaveCmd(g *globals) *cobra.Command {
	var out, format string
	c := &cobra.Command{
		Use:   "save -o FILE NAME",
		Short: "Write an image from the store to a docker (default) or OCI archive",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "docker" && format != "oci" {
				return fmt.Errorf("--format=%s: want docker or oci", format)
			}
			st, err := g.open()
			if err != nil {
				return err
			}
			defer st.Close()
			n, desc, err := lookupImage(st, args[0])
			if err != nil {
				return fmt.Errorf("save: %w", err)
			}
			return writeArchive(g, "save -o ", out, func(w io.Writer) error {
				if format == "oci" {
					return export.OCIArchive(st, desc, []string{n}, w)
				}
				return export.DockerArchive(st, desc, []string{n}, w)
			})
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "-", "file to write (- = stdout)")
	c.Flags().StringVar(&format, "format", "docker", "archive format: docker or oci")
	return c
}

func newLoadCmd(g *globals) *cobra.Command {
	var in string
	c := &cobra.Command{
		Use:   "load [-i FILE]",
		Short: "Load images from a docker or OCI archive into the store",
		Args:  cobra.NoArgs,
		RunE: g.withStore(func(cmd *cobra.Command, st *store.Store, _ []string) error {
			path := in
			if in == "-" {
				p, err := spool(st, g.stdin)
				if err != nil {
					return err
				}
				path = p
			}
			names, err := loadArchive(cmd.Context(), st, path)
			if err != nil {
				return fmt.Errorf("load %s: %w", in, err)
			}
			for _, n := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "Loaded image: %s\n", source.Familiar(n))
			}
			return nil
		}),
	}
	c.Flags().StringVarP(&in, "input", "i", "-", "archive to read (- = stdin)")
	return c
}

// spool copies stdin to a temp file, since archives are read twice.
func spool(st *store.Store, r io.Reader) (string, error) {
	dir, err := st.TempDir("load-")
	if err != nil {
		return "", err
	}
	f, err := os.Create(dir + "/in.tar")
	if err != nil {
		return "", err
	}
	defer f.Close()
	_, err = io.Copy(f, r)
	return f.Name(), err
}

func loadArchive(ctx context.Context, st *store.Store, path string) ([]string, error) {
	kind, err := archiveKind(path)
	if err != nil {
		return nil, err
	}
	if kind == "oci" {
		return loadOCI(ctx, st, path)
	}
	opener := func() (io.ReadCloser, error) { return os.Open(path) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range m {
		var tag *name.Tag
		if len(d.RepoTags) > 0 {
			t, err := name.NewTag(d.RepoTags[0])
			if err != nil {
				return nil, err
			}
			tag = &t
		}
		img, err := tarball.Image(opener, tag)
		if err != nil {
			return nil, err
		}
		desc, err := export.StoreImage(st, img)
		if err != nil {
			return nil, err
		}
		for _, t := range d.RepoTags {
			n, err := source.Normalize(t)
			if err != nil {
				return nil, err
			}
			if err := st.Tag(n, desc); err != nil {
				return nil, err
			}
			names = append(names, n)
		}
	}
	return names, nil
}

// archiveKind tells a docker archive (manifest.json) from an OCI one.
func archiveKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	kind := ""
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("not a tar archive: %w", err)
		}
		switch h.Name {
		case "manifest.json", "./manifest.json":
			return "docker", nil
		case "index.json", "./index.json":
			kind = "oci"
		}
	}
	if kind == "" {
		return "", fmt.Errorf("neither a docker archive (manifest.json) nor an OCI archive (index.json)")
	}
	return kind, nil
}

func loadOCI(ctx context.Context, st *store.Store, path string) ([]string, error) {
	dir, err := st.TempDir("load-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := archive.Apply(ctx, dir, f, archive.WithNoSameOwner()); err != nil {
		return nil, err
	}
	if err := plainFilesOnly(dir); err != nil {
		return nil, err
	}
	lp, err := layout.FromPath(dir)
	if err != nil {
		return nil, err
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range im.Manifests {
		n := d.Annotations["io.containerd.image.name"]
		if n == "" {
			n = d.Annotations[store.RefNameAnnotation]
		}
		if n == "" || !d.MediaType.IsImage() {
			continue
		}
		full, err := source.Normalize(n)
		if err != nil {
			continue // a bare tag like "latest" names no repository
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		desc, err := export.StoreImage(st, img)
		if err != nil {
			return nil, err
		}
		if err := st.Tag(full, desc); err != nil {
			return nil, err
		}
		names = append(names, full)
	}
	return names, nil
}

// plainFilesOnly refuses an unpacked OCI archive holding anything but
// regular files and directories: a symlink named index.json or
// blobs/sha256/… would make the layout reader open a file of the host.
func plainFilesOnly(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			return fmt.Errorf("OCI archive member %s is not a regular file (%v)", rel, d.Type())
		}
		return nil
	})
}
