package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/docker/go-units"
	"github.com/kiln-build/kiln/export"
	"github.com/kiln-build/kiln/progress"
	"github.com/kiln-build/kiln/solver"
	"github.com/kiln-build/kiln/store"
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
	progress    string
	iidfile     string
	metadata    string
	load        bool
	annotations []string
	contexts    []string
	ssh         []string
	network     string
	allow       []string
	addHosts    []string
	shmSize     string
	ulimits     []string
	check       bool
	call        string
	provenance  string
	sbom        string
	attest      []string
	reproduce   bool
	noLeaks     bool
	noAutoCache bool
	noProcSB    bool
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
	fl.StringVar(&f.platform, "platform", "", "target platforms os/arch[/variant],… (default: this machine's); several make an image index")
	fl.StringVar(&f.compression, "compression", "gzip", "layer compression: gzip, zstd or uncompressed")
	fl.IntVar(&f.jobs, "jobs", solver.DefaultJobs(), "steps run at once")
	fl.StringArrayVar(&f.secrets, "secret", nil, "secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VAR")
	fl.StringArrayVar(&f.cacheTo, "cache-to", nil, "export the build cache: type=registry,ref=REF[,mode=min|max] or type=local,dest=DIR")
	fl.StringArrayVar(&f.cacheFrom, "cache-from", nil, "import a build cache: type=registry,ref=REF or type=local,src=DIR")
	fl.BoolVar(&f.pull, "pull", false, "always check the registry for newer base images (pulled images are kept in the store by name)")
	fl.BoolVar(&f.noCache, "no-cache", false, "run every step, ignoring the cache")
	fl.StringArrayVar(&f.noCacheFor, "no-cache-filter", nil, "ignore the cache for these stages")
	fl.StringVar(&f.runtimeName, "runtime", "", "OCI runtime binary for RUN (default: built-in libcontainer)")
	fl.StringVar(&f.progress, "progress", defaultProgress(), "progress output: auto, tty, plain, rawjson or quiet (default $BUILDKIT_PROGRESS, else auto)")
	fl.StringVar(&f.iidfile, "iidfile", "", "write the image ID to this file")
	fl.StringVar(&f.metadata, "metadata-file", "", "write the build's metadata (digests, names) as JSON to this file")
	fl.BoolVar(&f.load, "load", false, "load the image into the docker daemon ($DOCKER_HOST; shorthand for -o type=docker)")
	fl.StringArrayVar(&f.annotations, "annotation", nil, "annotation [manifest:|manifest-descriptor:]KEY=VALUE on the image")
	fl.StringArrayVar(&f.contexts, "build-context", nil, "named context NAME=DIR|docker-image://REF|oci-layout://PATH[:TAG]|target:STAGE")
	fl.StringVar(&f.network, "network", "default", "network of RUN steps: default (own namespace, outbound only), none, host (needs --allow network.host)")
	fl.StringArrayVar(&f.allow, "allow", nil, "grant an entitlement: network.host, security.insecure")
	fl.StringArrayVar(&f.addHosts, "add-host", nil, "add host:ip to /etc/hosts of RUN steps")
	fl.StringVar(&f.shmSize, "shm-size", "", "size of /dev/shm in RUN steps (e.g. 128m; default 64m)")
	fl.StringArrayVar(&f.ulimits, "ulimit", nil, "resource limit of RUN steps: name=soft[:hard] (e.g. nofile=1024:2048)")
	fl.BoolVar(&f.check, "check", false, "run the Dockerfile checks (BuildKit's lint rules) and build nothing; shorthand for --call=check")
	fl.StringVar(&f.call, "call", "build", "what to do: build, or check[,ignorestatus=true]")
	fl.StringArrayVar(&f.ssh, "ssh", nil, "ssh agent or keys for RUN --mount=type=ssh: default|ID[=SOCKET|KEY[,KEY]]")
	fl.BoolVar(&f.noAutoCache, "no-auto-cache", false, "do not give builder stages that run Go persistent build and module caches (the image is the same either way)")
	fl.BoolVar(&f.noProcSB, "no-process-sandbox", os.Getenv("KILN_NO_PROCESS_SANDBOX") == "1",
		"run RUN steps without a pid namespace of their own, with kiln's /proc (for pods whose masked /proc forbids mounting one; $KILN_NO_PROCESS_SANDBOX=1)")
	fl.BoolVar(&f.noLeaks, "no-leak-check", false, "do not check the image for toolchains, caches, VCS dirs and secrets that crossed a stage boundary")
	fl.BoolVar(&f.reproduce, "reproducible", false, "set SOURCE_DATE_EPOCH (unless given) to the context's last git commit time, or 0: times in the image are fixed and layer mtimes clamped, so one commit builds to one digest")
	fl.StringVar(&f.provenance, "provenance", "", `SLSA provenance attestation: true, false or mode=min|max[,builder-id=…] (shorthand for --attest=type=provenance,…)`)
	fl.StringVar(&f.sbom, "sbom", "", `SBOM attestation (SPDX: dpkg, apk and Go packages): true or false (shorthand for --attest=type=sbom)`)
	fl.StringArrayVar(&f.attest, "attest", nil, `attestation to attach: type=sbom|provenance[,KEY=VALUE…] (repeatable)`)
	return c
}

// defaultProgress is $BUILDKIT_PROGRESS, as buildx reads it, else auto.
func defaultProgress() string {
	if v := os.Getenv("BUILDKIT_PROGRESS"); v != "" {
		return v
	}
	return "auto"
}

// runBuild turns the flags into solver and export options, builds, exports
// and prints the summary.
func runBuild(cmd *cobra.Command, g *globals, f *buildFlags, contextDir string) error {
	ctx := cmd.Context()
	bopts, err := f.solverOptions(g, contextDir)
	if err != nil {
		return err
	}
	if call, opts, _ := strings.Cut(f.call, ","); f.check || call == "check" {
		return runCheck(cmd, g, contextDir, bopts, opts == "ignorestatus=true" || opts == "ignorestatus=1")
	} else if call != "build" {
		return fmt.Errorf("--call=%s: want build or check", f.call)
	}
	outs, eopts, err := f.exportOptions(g)
	if err != nil {
		return err
	}
	mode := f.progress
	if f.quiet {
		mode = "quiet"
	}
	display, err := progress.NewDisplay(mode, g.stderr)
	if err != nil {
		return err
	}
	bopts = append(bopts, solver.WithProgress(display))
	eopts = append(eopts, export.WithProgress(display))
	return g.withStore(func(cmd *cobra.Command, st *store.Store, _ []string) error {
		res, rep, err := buildAndExport(ctx, st, contextDir, bopts, outs, eopts)
		display.Close()
		if err != nil {
			return err
		}
		defer res.Close()
		if err := f.writeFiles(g, rep); err != nil {
			return err
		}
		switch {
		case f.quiet:
			if rep.ImageID != "" {
				fmt.Fprintln(g.stdout, rep.ImageID)
			}
		case mode == "rawjson":
			for _, s := range res.Summaries() {
				display.(*progress.JSON).Write("summary", s)
			}
			for _, w := range rep.Leaks {
				display.(*progress.JSON).Write("leak", w)
			}
		case mode != "quiet":
			for _, s := range res.Summaries() {
				writeSummary(g.stderr, s)
			}
			writeWarnings(g.stderr, res.Warnings)
			writeLeaks(g.stderr, rep.Leaks)
		}
		return nil
	})(cmd, nil)
}

// runCheck runs the Dockerfile checks and prints what buildx prints for
// --check: the warnings on stdout; it fails when a rule failed the check
// (# check=error=true) or, unless ignorestatus, when there are warnings.
func runCheck(cmd *cobra.Command, g *globals, contextDir string, bopts []solver.Option, ignoreStatus bool) error {
	return g.withStore(func(cmd *cobra.Command, st *store.Store, _ []string) error {
		res, err := solver.Check(cmd.Context(), st, contextDir, bopts...)
		if err != nil {
			return err
		}
		out := g.stdout
		switch n := len(res.Warnings); {
		case n == 1:
			fmt.Fprintln(out, "Check complete, 1 warning has been found!")
		case n > 1:
			fmt.Fprintf(out, "Check complete, %d warnings have been found!\n", n)
		case res.Err == nil:
			fmt.Fprintln(out, "Check complete, no warnings found.")
		}
		if err := res.PrintTo(out); err != nil {
			return err
		}
		if res.Err != nil {
			var b strings.Builder
			if err := res.PrintErrorTo(&b); err != nil {
				return err
			}
			return fmt.Errorf("%s", strings.TrimSpace(b.String()))
		}
		if len(res.Warnings) > 0 && !ignoreStatus {
			return errCheckWarnings
		}
		return nil
	})(cmd, nil)
}

// buildAndExport runs the build and its export.
func buildAndExport(ctx context.Context, st *store.Store, contextDir string, bopts []solver.Option,
	outs []export.Output, eopts []export.Option) (*solver.Result, export.Report, error) {
	res, err := solver.Build(ctx, st, contextDir, bopts...)
	if err != nil {
		return nil, export.Report{}, err
	}
	rep, err := export.Write(ctx, st, res, outs, eopts...)
	if err != nil {
		res.Close()
		return nil, rep, err
	}
	return res, rep, nil
}

// writeFiles writes --iidfile and --metadata-file.
func (f *buildFlags) writeFiles(g *globals, rep export.Report) error {
	if f.iidfile != "" {
		if rep.ImageID == "" {
			return fmt.Errorf("--iidfile: the outputs made no image (use an image, registry, oci or docker output)")
		}
		if err := export.ToFile(f.iidfile, g.stdout, func(w io.Writer) error {
			_, err := io.WriteString(w, rep.ImageID)
			return err
		}); err != nil {
			return fmt.Errorf("--iidfile %s: %w", f.iidfile, err)
		}
	}
	if f.metadata != "" {
		if err := export.ToFile(f.metadata, g.stdout, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep.Metadata())
		}); err != nil {
			return fmt.Errorf("--metadata-file %s: %w", f.metadata, err)
		}
	}
	return nil
}

func (f *buildFlags) solverOptions(g *globals, contextDir string) ([]solver.Option, error) {
	if fi, err := os.Stat(contextDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("build context %s: no such directory", contextDir)
	}
	buildArgs, err := parseKVs("--build-arg", f.buildArgs, true)
	if err != nil {
		return nil, err
	}
	if v, ok := os.LookupEnv("SOURCE_DATE_EPOCH"); ok && v != "" {
		if _, given := buildArgs["SOURCE_DATE_EPOCH"]; !given {
			buildArgs["SOURCE_DATE_EPOCH"] = v // as buildx passes it on
		}
	}
	labels, err := parseKVs("--label", f.labels, false)
	if err != nil {
		return nil, err
	}
	secrets, err := parseSecrets(f.secrets)
	if err != nil {
		return nil, err
	}
	contexts, err := parseKVs("--build-context", f.contexts, false)
	if err != nil {
		return nil, err
	}
	opts := []solver.Option{solver.WithBuildArgs(buildArgs), solver.WithLabels(labels), solver.WithSecrets(secrets),
		solver.WithBuildContexts(contexts), solver.WithSSH(f.ssh...), solver.WithPlatforms(f.platform), solver.WithNetwork(f.network),
		solver.WithAllow(f.allow...), solver.WithAddHosts(f.addHosts...), solver.WithUlimits(f.ulimits...),
		solver.WithTarget(f.target), solver.WithJobs(f.jobs), solver.WithRuntime(f.runtimeName),
		solver.WithNoCacheFilter(f.noCacheFor...), solver.WithCacheFrom(f.cacheFrom...)}
	if f.shmSize != "" {
		n, err := units.RAMInBytes(f.shmSize)
		if err != nil {
			return nil, fmt.Errorf("--shm-size=%s: %w", f.shmSize, err)
		}
		opts = append(opts, solver.WithShmSize(n))
	}
	switch f.file {
	case "-":
		data, err := io.ReadAll(g.stdin)
		if err != nil {
			return nil, fmt.Errorf("-f -: %w", err)
		}
		opts = append(opts, solver.WithDockerfileContent(data))
	case "":
	default:
		opts = append(opts, solver.WithDockerfile(f.file))
	}
	if f.noCache {
		opts = append(opts, solver.WithNoCache())
	}
	if f.pull {
		opts = append(opts, solver.WithPull())
	}
	if f.reproduce {
		opts = append(opts, solver.WithReproducible())
	}
	if f.noLeaks {
		opts = append(opts, solver.WithoutLeakCheck())
	}
	if f.noAutoCache {
		opts = append(opts, solver.WithoutAutoCache())
	}
	if f.noProcSB {
		opts = append(opts, solver.WithNoProcessSandbox())
	}
	return opts, nil
}

func (f *buildFlags) exportOptions(g *globals) ([]export.Output, []export.Option, error) {
	comp, err := export.ParseCompression(f.compression)
	if err != nil {
		return nil, nil, err
	}
	var outs []export.Output
	for _, s := range f.outputs {
		o, err := export.ParseOutput(s)
		if err != nil {
			return nil, nil, err
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
	if f.load {
		outs = append(outs, export.Output{Type: "docker"})
	}
	annotations, err := export.ParseAnnotations(f.annotations)
	if err != nil {
		return nil, nil, err
	}
	attestations, err := export.ParseAttestations(export.AttestFlags{Attest: f.attest, SBOM: f.sbom, Provenance: f.provenance})
	if err != nil {
		return nil, nil, err
	}
	opts := []export.Option{export.WithTags(f.tags...), export.WithCompression(comp), export.WithAnnotations(annotations),
		export.WithCacheTo(f.cacheTo...), export.WithStdout(g.stdout), export.WithAttestations(attestations)}
	if f.noLeaks {
		opts = append(opts, export.WithoutLeakCheck())
	}
	return outs, opts, nil
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
