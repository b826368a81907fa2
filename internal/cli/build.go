package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/cache"
	"github.com/kiln-build/kiln/dockerfile"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/plan"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/runtime"
	"github.com/kiln-build/kiln/source"
	"github.com/spf13/cobra"
)

type buildFlags struct {
	file        string
	tags        []string
	buildArgs   []string
	labels      []string
	target      string
	outputs     []string
	push        bool
	quiet       bool
	platform    string
	compression string
	jobs        int
	runtimeName string
	noCache     bool
	noCacheFor  []string
	secrets     []string
	cacheTo     []string
	cacheFrom   []string
	pull        bool
}

func newBuildCmd(g *globals) *cobra.Command {
	var f buildFlags
	c := &cobra.Command{
		Use:   "build [flags] CONTEXT",
		Short: "Build an image from a Dockerfile",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBuild(cmd, g, &f, args[0])
		},
	}
	fl := c.Flags()
	fl.StringVarP(&f.file, "file", "f", "", "Dockerfile (default CONTEXT/Dockerfile; - reads stdin)")
	fl.StringArrayVarP(&f.tags, "tag", "t", nil, "name the image (repeatable)")
	fl.StringArrayVar(&f.buildArgs, "build-arg", nil, "build argument KEY=VALUE, or KEY to take it from the environment")
	fl.StringArrayVar(&f.labels, "label", nil, "label KEY=VALUE for the image")
	fl.StringVar(&f.target, "target", "", "stage to build (default: the last)")
	fl.StringArrayVarP(&f.outputs, "output", "o", nil, "output: type=image|registry|oci|docker|tar|local[,dest=…][,push=true], or a DIR")
	fl.BoolVar(&f.push, "push", false, "push the tagged image to its registry (and keep it in the store)")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "print only the image ID")
	fl.StringVar(&f.platform, "platform", "", "target platform (only the host's is supported)")
	fl.StringVar(&f.compression, "compression", "gzip", "layer compression: gzip, zstd or uncompressed")
	fl.IntVar(&f.jobs, "jobs", 0, "stages run at once (default: number of CPUs)")
	fl.StringArrayVar(&f.secrets, "secret", nil, "secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR")
	fl.StringArrayVar(&f.cacheTo, "cache-to", nil, "export the build cache: type=registry,ref=REF[,mode=min|max] or type=local,dest=DIR")
	fl.StringArrayVar(&f.cacheFrom, "cache-from", nil, "import a build cache: type=registry,ref=REF or type=local,src=DIR")
	fl.BoolVar(&f.pull, "pull", false, "always check the registry for newer base images (pulled images are kept in the store by name)")
	fl.BoolVar(&f.noCache, "no-cache", false, "run every step, ignoring the cache")
	fl.StringArrayVar(&f.noCacheFor, "no-cache-filter", nil, "ignore the cache for these stages")
	fl.StringVar(&f.runtimeName, "runtime", "", "OCI runtime binary for RUN (default: built-in libcontainer)")
	return c
}

func runBuild(cmd *cobra.Command, g *globals, f *buildFlags, contextDir string) error {
	ctx := cmd.Context()
	if err := checkPlatform(f.platform); err != nil {
		return err
	}
	comp, err := export.ParseCompression(f.compression)
	if err != nil {
		return err
	}
	outs, err := parseOutputs(f)
	if err != nil {
		return err
	}
	buildArgs, err := parseKVs("--build-arg", f.buildArgs, true)
	if err != nil {
		return err
	}
	labels, err := parseKVs("--label", f.labels, false)
	if err != nil {
		return err
	}
	tags, err := normalizeTags(f.tags)
	if err != nil {
		return err
	}
	secrets, err := parseSecrets(f.secrets)
	if err != nil {
		return err
	}
	cacheTo, err := parseCacheSpecs("--cache-to", f.cacheTo)
	if err != nil {
		return err
	}
	cacheFrom, err := parseCacheSpecs("--cache-from", f.cacheFrom)
	if err != nil {
		return err
	}
	df, dfPath, err := readDockerfile(g, f.file, contextDir)
	if err != nil {
		return err
	}
	st, err := g.open()
	if err != nil {
		return err
	}
	defer st.Close()
	var out io.Writer = g.stderr
	if f.quiet {
		out = nil
	}
	opts := solver.Options{ContextDir: contextDir, File: df, DockerfilePath: dfPath, BuildArgs: buildArgs,
		Target: f.target, Labels: labels, Jobs: f.jobs, Progress: progress.New(out),
		NoCache: f.noCache, NoCacheFilter: lower(f.noCacheFor), Secrets: secrets, Pull: f.pull}
	if f.runtimeName != "" {
		dir, err := st.TempDir("runtime-")
		if err != nil {
			return err
		}
		if opts.Executor, err = runtime.NewOCIRuntime(f.runtimeName, dir); err != nil {
			return fmt.Errorf("--runtime=%s: %w", f.runtimeName, err)
		}
	}
	for _, sp := range cacheFrom {
		r, err := cache.Pull(ctx, sp)
		if err != nil {
			// as buildx: a missing cache is not an error, just no hits
			opts.Progress.Printf("warning: %v", err)
			continue
		}
		opts.CacheFrom = append(opts.CacheFrom, r)
	}
	res, err := solver.Build(ctx, st, opts)
	if err != nil {
		return err
	}
	defer res.Close()
	if err := writeOutputs(cmd, g, st, res, outs, tags, comp, opts.Progress, f.quiet); err != nil {
		return err
	}
	if !f.quiet {
		res.Summary(g.stderr)
	}
	for _, sp := range cacheTo {
		step := opts.Progress.Start("exporting cache to " + sp.Ref + sp.Dir)
		err := res.ExportCache(ctx, sp, comp)
		step.Done(err)
		if err != nil {
			return err
		}
	}
	return nil
}

func parseCacheSpecs(flag string, vals []string) ([]cache.Spec, error) {
	var out []cache.Spec
	for _, v := range vals {
		sp, err := cache.ParseSpec(flag, v)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// parseSecrets reads --secret values as buildx does: id=ID with src=FILE
// (or source=), or env=VAR; with neither, the environment variable ID.
func parseSecrets(vals []string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, v := range vals {
		kv := map[string]string{}
		for _, f := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(f, "=")
			if !ok {
				return nil, fmt.Errorf("--secret %q: %q is not key=value", v, f)
			}
			kv[strings.ToLower(k)] = val
		}
		id := kv["id"]
		if id == "" {
			return nil, fmt.Errorf("--secret %q: id= is required", v)
		}
		src := kv["src"]
		if src == "" {
			src = kv["source"]
		}
		switch {
		case src != "":
			b, err := os.ReadFile(src)
			if err != nil {
				return nil, fmt.Errorf("--secret %s: %w", id, err)
			}
			out[id] = b
		default:
			name := kv["env"]
			if name == "" {
				name = id
			}
			val, ok := os.LookupEnv(name)
			if !ok {
				return nil, fmt.Errorf("--secret %s: environment variable %s is not set (or give src=FILE)", id, name)
			}
			out[id] = []byte(val)
		}
	}
	return out, nil
}

func lower(ss []string) []string {
	var out []string
	for _, s := range ss {
		for _, p := range strings.Split(s, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(p)))
		}
	}
	return out
}

func checkPlatform(p string) error {
	if p == "" {
		return nil
	}
	os, arch, _ := plan.Platform()
	for _, one := range strings.Split(p, ",") {
		parts := strings.Split(one, "/")
		if len(parts) < 2 || parts[0] != os || parts[1] != arch {
			return fmt.Errorf("--platform=%s: kiln builds only for the host platform %s/%s for now", p, os, arch)
		}
	}
	return nil
}

func parseOutputs(f *buildFlags) ([]export.Output, error) {
	var outs []export.Output
	for _, s := range f.outputs {
		o, err := export.ParseOutput(s)
		if err != nil {
			return nil, err
		}
		outs = append(outs, o)
	}
	if len(outs) == 0 {
		outs = []export.Output{{Type: "image"}}
	}
	if f.push {
		// as docker build --push: the image is in the store and pushed
		outs = append(outs, export.Output{Type: "image", Push: true})
	}
	return outs, nil
}

// parseKVs parses repeated KEY=VALUE flags; with fromEnv, a bare KEY takes
// the environment's value (and is skipped when unset), as docker does.
func parseKVs(flag string, vals []string, fromEnv bool) (map[string]string, error) {
	m := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if k == "" {
			return nil, fmt.Errorf("%s %q: missing key", flag, v)
		}
		if !ok {
			if !fromEnv {
				return nil, fmt.Errorf("%s %q: want KEY=VALUE", flag, v)
			}
			env, set := os.LookupEnv(k)
			if !set {
				continue
			}
			val = env
		}
		m[k] = val
	}
	return m, nil
}

func normalizeTags(tags []string) ([]string, error) {
	var out []string
	for _, t := range tags {
		n, err := source.Normalize(t)
		if err != nil {
			return nil, fmt.Errorf("-t %s: %w", t, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// readDockerfile reads -f (or CONTEXT/Dockerfile, or stdin for "-").
func readDockerfile(g *globals, file, contextDir string) (*dockerfile.File, string, error) {
	if file == "-" {
		df, err := dockerfile.Parse("Dockerfile", g.stdin)
		return df, "", err
	}
	if file == "" {
		file = filepath.Join(contextDir, "Dockerfile")
	}
	fh, err := os.Open(file)
	if err != nil {
		return nil, "", fmt.Errorf("-f: %w", err)
	}
	defer fh.Close()
	df, err := dockerfile.Parse(displayName(file, contextDir), fh)
	return df, file, err
}

// displayName is how errors name the Dockerfile: relative to the context
// when inside it ("Dockerfile:7: …"), else as given.
func displayName(file, contextDir string) string {
	if rel, err := filepath.Rel(contextDir, file); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return file
}
