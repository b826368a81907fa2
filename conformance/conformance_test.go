//go:build conformance

package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// caseSpec is cases/NAME/case.json (all fields optional).
type caseSpec struct {
	// Dir shares another case's directory (context, Dockerfile, prepare.sh) instead of this one.
	Dir        string            `json:"dir"`
	Dockerfile string            `json:"dockerfile"` // path inside the context (default Dockerfile)
	BuildArgs  map[string]string `json:"build_args"` // values may use @REGISTRY@ too
	Target     string            `json:"target"`
	Labels     map[string]string `json:"labels"`
	Secrets    map[string]string `json:"secrets"`    // id -> content, passed as a file (src=)
	SecretEnv  map[string]string `json:"secret_env"` // id -> content, passed as an env var (env=)
	// Parent is a subdirectory built first by BuildKit and pushed as $REGISTRY/NAME-parent:latest.
	Parent string `json:"parent"`
	// Parents are subdirectories built in this order by BuildKit, each pushed as
	// $REGISTRY/NAME-DIR:latest (lowercase), for chains of FROM-an-image (ONBUILD of ONBUILD).
	Parents []string `json:"parents"`
	// Expect "error": BuildKit rejects the case; kiln must too, naming the same Dockerfile line.
	Expect string `json:"expect"`
	Line   int    `json:"line"` // with expect=error: the line both must name (optional)
	// Platform is passed to both (--opt platform= / --platform).
	Platform string `json:"platform"`
	// KilnArgs are extra `kiln build` flags that must not change the result (--runtime runc, ...).
	KilnArgs []string `json:"kiln_args"`
	// RewriteTimestamp exports BuildKit's image with rewrite-timestamp=true and compares mtimes
	// (with SOURCE_DATE_EPOCH set).
	RewriteTimestamp bool `json:"rewrite_timestamp"`
	// Timestamps true compares created times, history times and every file's mtime (also without
	// rewrite_timestamp: only cases whose new files all get fixed times can use it), e.g. for a
	// Dockerfile's own `ARG SOURCE_DATE_EPOCH=...` default; false compares no times, e.g. for
	// SOURCE_DATE_EPOCH=context with a local context (real build times). Unset: created and
	// history times with the SOURCE_DATE_EPOCH build arg, mtimes with it and rewrite_timestamp.
	Timestamps *bool `json:"timestamps"`
	// Contexts are named build contexts: NAME -> a directory of the case's context, or
	// docker-image://REF (@REGISTRY@ is replaced). BuildKit gets --local NAME=DIR with --opt
	// context:NAME=local:NAME, or --opt context:NAME=docker-image://REF; kiln --build-context.
	Contexts map[string]string `json:"contexts"`
	// Metadata compares the keys of both builders' metadata files (buildctl --metadata-file,
	// kiln --metadata-file), and that each names its own image's digests.
	Metadata bool `json:"metadata"`
	// Call "check": both only run the Dockerfile checks (BuildKit's frontend.lint request,
	// kiln build --check) and must report the same rules on the same lines.
	Call string `json:"call"`
}

type tcase struct {
	name string
	dir  string // the case's files (context + Dockerfile + prepare.sh)
	spec caseSpec
}

type env struct {
	state, registry, buildkitAddr, buildctl, kiln, work, store string
	known                                                      map[string]string
}

var tally struct {
	sync.Mutex
	passed, known, failed []string
}

func getenv(k string, file map[string]string, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	if v := file[k]; v != "" {
		return v
	}
	return def
}

func setup(t *testing.T) *env {
	e := &env{state: os.Getenv("KILN_CONFORMANCE_STATE")}
	if e.state == "" {
		e.state = "/var/cache/kiln-conformance"
	}
	file := map[string]string{}
	if b, err := os.ReadFile(filepath.Join(e.state, "env")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok {
				file[k] = v
			}
		}
	}
	e.registry = getenv("REGISTRY", file, "127.0.0.1:5000/kiln-conformance")
	e.buildkitAddr = getenv("BUILDKIT_ADDR", file, "unix://"+filepath.Join(e.state, "buildkitd.sock"))
	e.buildctl = getenv("BUILDCTL", file, filepath.Join(e.state, "bin", "buildctl"))
	if out, err := exec.Command(e.buildctl, "--addr", e.buildkitAddr, "debug", "workers").CombinedOutput(); err != nil {
		t.Fatalf("buildkitd at %s not usable (run conformance/setup.sh): %v\n%s", e.buildkitAddr, err, out)
	}

	work, err := os.MkdirTemp("", "kiln-conformance-")
	if err != nil {
		t.Fatal(err)
	}
	e.work, e.store = work, filepath.Join(work, "store")
	if os.Getenv("KILN_CONFORMANCE_KEEP") != "" {
		t.Logf("work dir (kept): %s", work)
	} else {
		t.Cleanup(func() {
			// the store may hold read-only dirs and leftover mounts are not expected; best effort
			exec.Command("chmod", "-R", "u+w", work).Run()
			os.RemoveAll(work)
		})
	}

	e.kiln = os.Getenv("KILN")
	if e.kiln == "" {
		e.kiln = filepath.Join(work, "kiln")
		cmd := exec.Command("go", "build", "-o", e.kiln, "./cmd/kiln")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building kiln: %v\n%s", err, out)
		}
	}

	e.known = map[string]string{}
	b, err := os.ReadFile("known-differences.txt")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, reason, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("known-differences.txt:%d: want `CASE: reason`", i+1)
		}
		e.known[strings.TrimSpace(name)] = strings.TrimSpace(reason)
	}
	return e
}

func loadCases(t *testing.T) []tcase {
	ents, err := os.ReadDir("cases")
	if err != nil {
		t.Fatal(err)
	}
	var cs []tcase
	for _, de := range ents {
		if !de.IsDir() {
			continue
		}
		c := tcase{name: de.Name(), dir: filepath.Join("cases", de.Name())}
		if b, err := os.ReadFile(filepath.Join(c.dir, "case.json")); err == nil {
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&c.spec); err != nil {
				t.Fatalf("%s/case.json: %v", c.dir, err)
			}
		}
		if c.spec.Dir != "" {
			c.dir = filepath.Join("cases", c.spec.Dir)
		}
		if c.spec.Dockerfile == "" && !exists(filepath.Join(c.dir, "Dockerfile")) &&
			!exists(filepath.Join(c.dir, "dockerfile")) { // BuildKit falls back to lowercase
			t.Fatalf("case %s: no Dockerfile in %s", c.name, c.dir)
		}
		cs = append(cs, c)
	}
	return cs
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func TestConformance(t *testing.T) {
	e := setup(t)
	cases := loadCases(t)
	names := map[string]bool{}
	for _, c := range cases {
		names[c.name] = true
	}
	for n := range e.known {
		if !names[n] {
			t.Errorf("known-differences.txt lists %q, which is no case", n)
		}
	}
	t.Cleanup(func() {
		tally.Lock()
		defer tally.Unlock()
		sort.Strings(tally.failed)
		fmt.Printf("conformance: %d passed, %d known differences, %d failed\n",
			len(tally.passed), len(tally.known), len(tally.failed))
		if len(tally.failed) > 0 {
			fmt.Printf("conformance: failed: %s\n", strings.Join(tally.failed, " "))
		}
	})
	for _, c := range cases {
		c := c
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runCase(t, e, c)
		})
	}
}

func record(list *[]string, name string) {
	tally.Lock()
	*list = append(*list, name)
	tally.Unlock()
}

func runCase(t *testing.T, e *env, c tcase) {
	reason, isKnown := e.known[c.name]
	ok := false
	defer func() {
		switch {
		case t.Failed():
			record(&tally.failed, c.name)
		case t.Skipped():
			record(&tally.known, c.name)
		case ok:
			record(&tally.passed, c.name)
		}
	}()

	w := filepath.Join(e.work, "cases", c.name)
	ctx := filepath.Join(w, "context")
	if err := os.MkdirAll(w, 0o755); err != nil {
		t.Fatal(err)
	}
	prepareContext(t, e, c, ctx)

	if c.spec.Parent != "" {
		if err := buildParent(e, c, w, ctx, c.spec.Parent, "parent"); err != nil {
			t.Fatalf("building the parent image with BuildKit (harness problem): %v", err)
		}
	}
	for _, p := range c.spec.Parents {
		if err := buildParent(e, c, w, ctx, p, filepath.Base(p)); err != nil {
			t.Fatalf("building parent image %s with BuildKit (harness problem): %v", p, err)
		}
	}
	// build both at once
	var ref, kil result
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ref = buildRef(e, c, w, ctx) }()
	go func() { defer wg.Done(); kil = buildKiln(e, c, w, ctx) }()
	wg.Wait()

	var diffs []string
	if c.spec.Call == "check" {
		diffs = compareChecks(ref, kil)
	} else if c.spec.Expect == "error" {
		diffs = compareErrors(c, ref, kil)
		if ref.err == nil {
			t.Fatalf("case expects an error but BuildKit built it (harness problem)\n%s", tail(ref.log, 20))
		}
	} else {
		if ref.err != nil {
			t.Fatalf("reference (BuildKit) build failed (harness problem): %v\n%s", ref.err, tail(ref.log, 25))
		}
		if kil.err != nil {
			diffs = append(diffs, fmt.Sprintf("kiln build failed: %v\n%s", kil.err, indent(tail(kil.log, 15))))
		} else {
			diffs = compareImages(t, c, ref.tar, kil.tar)
			if c.spec.Metadata {
				diffs = append(diffs, compareMetadata(w)...)
			}
		}
	}

	if isKnown {
		if len(diffs) == 0 {
			t.Errorf("listed in known-differences.txt (%s) but now matches BuildKit: remove it from the list", reason)
			return
		}
		for _, d := range diffs {
			t.Log(d)
		}
		t.Skipf("known difference: %s", reason)
	}
	for _, d := range diffs {
		t.Error(d)
	}
	if len(diffs) == 0 {
		ok = true
		if os.Getenv("KILN_CONFORMANCE_KEEP") == "" {
			os.Remove(ref.tar)
			os.Remove(kil.tar)
		}
	} else {
		t.Logf("logs: %s/{ref,kiln}.log (set KILN_CONFORMANCE_KEEP=1 to keep them)", w)
	}
}

// prepareContext copies the case's files (without case.json and prepare.sh) to ctx and runs
// prepare.sh there: git keeps neither ownership, xattrs, hard links, empty dirs nor most modes.
// Then @REGISTRY@ in every Dockerfile of the context becomes the registry and repository prefix
// (REGISTRY, e.g. 127.0.0.1:5000/kiln-conformance) and @REGISTRY_HOST@ its host:port (Dockerfile
// variables do not expand in COPY --from or RUN --mount from=, so the runner substitutes text).
func prepareContext(t *testing.T, e *env, c tcase, ctx string) {
	if out, err := exec.Command("cp", "-a", c.dir+"/.", ctx+"/").CombinedOutput(); err != nil {
		t.Fatalf("copying context: %v\n%s", err, out)
	}
	os.Remove(filepath.Join(ctx, "case.json"))
	os.Remove(filepath.Join(ctx, "prepare.sh"))
	if _, err := os.Stat(filepath.Join(c.dir, "prepare.sh")); err == nil {
		abs, _ := filepath.Abs(filepath.Join(c.dir, "prepare.sh"))
		cmd := exec.Command("bash", "-euo", "pipefail", abs)
		cmd.Dir = ctx
		// e.g. to upload HTTP content as blobs to the registry (ADD https://... cases)
		cmd.Env = append(os.Environ(), "REGISTRY="+e.registry, "REGISTRY_HOST="+registryHost(e.registry))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("prepare.sh: %v\n%s", err, out)
		}
	}
	err := filepath.WalkDir(ctx, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		n := strings.ToLower(d.Name())
		if !strings.HasPrefix(n, "dockerfile") && !strings.HasSuffix(n, ".dockerfile") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("@REGISTRY")) {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte("@REGISTRY@"), []byte(e.registry))
		b = bytes.ReplaceAll(b, []byte("@REGISTRY_HOST@"), []byte(registryHost(e.registry)))
		return os.WriteFile(p, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("substituting @REGISTRY@: %v", err)
	}
}

type result struct {
	tar string
	log string
	err error
}

func registryHost(r string) string {
	h, _, _ := strings.Cut(r, "/")
	return h
}

func buildArgs(e *env, c tcase) map[string]string {
	args := map[string]string{}
	for k, v := range c.spec.BuildArgs {
		v = strings.ReplaceAll(v, "@REGISTRY@", e.registry)
		args[k] = strings.ReplaceAll(v, "@REGISTRY_HOST@", registryHost(e.registry))
	}
	return args
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func secretEnvName(id string) string {
	return "KILN_CONFORMANCE_SECRET_" + strings.ToUpper(regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(id, "_"))
}

// secretFlags writes the case's secrets to files and returns the --secret values and environment.
func secretFlags(c tcase, w string) ([]string, []string) {
	var flags, envs []string
	for _, id := range sortedKeys(c.spec.Secrets) {
		f := filepath.Join(w, "secret-"+id)
		os.WriteFile(f, []byte(c.spec.Secrets[id]), 0o600)
		flags = append(flags, "id="+id+",src="+f)
	}
	for _, id := range sortedKeys(c.spec.SecretEnv) {
		n := secretEnvName(id)
		flags = append(flags, "id="+id+",env="+n)
		envs = append(envs, n+"="+c.spec.SecretEnv[id])
	}
	return flags, envs
}

func run(name string, args []string, extraEnv []string, logf string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	f, err := os.Create(logf)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "$ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), extraEnv...)
	return cmd.Run()
}

func readLog(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func dockerfileLocal(c tcase, ctx string) (dir, name string) {
	if c.spec.Dockerfile == "" {
		return ctx, "Dockerfile"
	}
	p := filepath.Join(ctx, c.spec.Dockerfile)
	return filepath.Dir(p), filepath.Base(p)
}

func argOpts(e *env, c tcase) []string {
	var a []string
	ba := buildArgs(e, c)
	for _, k := range sortedKeys(ba) {
		a = append(a, "--opt", "build-arg:"+k+"="+ba[k])
	}
	return a
}

// buildParent builds the case's parent image from subdirectory dir with BuildKit and pushes it
// to the registry as $REGISTRY/NAME-SUFFIX:latest (for FROM-an-image cases such as ONBUILD
// triggers).
func buildParent(e *env, c tcase, w, ctx, dir, suffix string) error {
	pctx := filepath.Join(ctx, dir)
	args := []string{"--addr", e.buildkitAddr, "build", "--progress=plain", "--frontend", "dockerfile.v0",
		"--local", "context=" + pctx, "--local", "dockerfile=" + pctx}
	args = append(args, argOpts(e, c)...)
	args = append(args, "--output", "type=image,name="+e.registry+"/"+strings.ToLower(c.name+"-"+suffix)+":latest,push=true,registry.insecure=true")
	logf := filepath.Join(w, suffix+".log")
	if err := run(e.buildctl, args, nil, logf); err != nil {
		return fmt.Errorf("%v\n%s", err, tail(readLog(logf), 20))
	}
	return nil
}

func buildRef(e *env, c tcase, w, ctx string) result {
	r := result{tar: filepath.Join(w, "ref.tar"), log: ""}
	logf := filepath.Join(w, "ref.log")
	base := []string{"--addr", e.buildkitAddr, "build", "--progress=plain", "--frontend", "dockerfile.v0"}
	ddir, dname := dockerfileLocal(c, ctx)
	args := append(append([]string{}, base...), "--local", "context="+ctx, "--local", "dockerfile="+ddir)
	if dname != "Dockerfile" {
		args = append(args, "--opt", "filename="+dname)
	}
	args = append(args, argOpts(e, c)...)
	if c.spec.Target != "" {
		args = append(args, "--opt", "target="+c.spec.Target)
	}
	if c.spec.Platform != "" {
		args = append(args, "--opt", "platform="+c.spec.Platform)
	}
	for _, k := range sortedKeys(c.spec.Labels) {
		args = append(args, "--opt", "label:"+k+"="+c.spec.Labels[k])
	}
	sflags, senv := secretFlags(c, w)
	for _, s := range sflags {
		args = append(args, "--secret", s)
	}
	for _, k := range sortedKeys(c.spec.Contexts) {
		v := subst(e, c.spec.Contexts[k])
		if strings.Contains(v, "://") {
			args = append(args, "--opt", "context:"+k+"="+v)
			continue
		}
		args = append(args, "--local", k+"="+filepath.Join(ctx, v), "--opt", "context:"+k+"=local:"+k)
	}
	if c.spec.Metadata {
		args = append(args, "--metadata-file", filepath.Join(w, "ref-metadata.json"))
	}
	if c.spec.Call == "check" {
		args = append(args, "--opt", "requestid=frontend.lint")
		r.err = run(e.buildctl, args, senv, logf)
		r.log = readLog(logf)
		return r
	}
	out := "type=docker,name=conformance/" + strings.ToLower(c.name) + ":latest,dest=" + r.tar
	if c.spec.RewriteTimestamp {
		out += ",rewrite-timestamp=true"
	}
	args = append(args, "--output", out)
	r.err = run(e.buildctl, args, senv, logf)
	r.log = readLog(logf)
	return r
}

func buildKiln(e *env, c tcase, w, ctx string) result {
	r := result{tar: filepath.Join(w, "kiln.tar")}
	logf := filepath.Join(w, "kiln.log")
	out := "type=docker,dest=" + r.tar
	if c.spec.RewriteTimestamp {
		out += ",rewrite-timestamp=true"
	} else {
		// kiln clamps by default when SOURCE_DATE_EPOCH is set; BuildKit not
		out += ",rewrite-timestamp=false"
	}
	args := []string{"--root", e.store, "build", "-o", out,
		"-t", "conformance/" + strings.ToLower(c.name) + ":latest"}
	if c.spec.Dockerfile != "" {
		args = append(args, "-f", filepath.Join(ctx, c.spec.Dockerfile))
	}
	args2 := buildArgs(e, c)
	for _, k := range sortedKeys(args2) {
		args = append(args, "--build-arg", k+"="+args2[k])
	}
	if c.spec.Target != "" {
		args = append(args, "--target", c.spec.Target)
	}
	if c.spec.Platform != "" {
		args = append(args, "--platform", c.spec.Platform)
	}
	args = append(args, c.spec.KilnArgs...)
	for _, k := range sortedKeys(c.spec.Labels) {
		args = append(args, "--label", k+"="+c.spec.Labels[k])
	}
	sflags, senv := secretFlags(c, w)
	for _, s := range sflags {
		args = append(args, "--secret", s)
	}
	for _, k := range sortedKeys(c.spec.Contexts) {
		v := subst(e, c.spec.Contexts[k])
		if !strings.Contains(v, "://") {
			v = filepath.Join(ctx, v)
		}
		args = append(args, "--build-context", k+"="+v)
	}
	if c.spec.Metadata {
		args = append(args, "--metadata-file", filepath.Join(w, "kiln-metadata.json"))
	}
	if c.spec.Call == "check" {
		args = append(args, "--check", "--no-leak-check") // BuildKit's rules only
	}
	args = append(args, ctx)
	r.err = run(e.kiln, args, senv, logf)
	r.log = readLog(logf)
	return r
}

var (
	// BuildKit prints a source snippet headed "Dockerfile:N" for each line an error names
	reSnippet = regexp.MustCompile(`(?m)^Dockerfile[^:\s]*:(\d+)\s*$`)
	reParseAt = regexp.MustCompile(`(?:parse error on line|line) (\d+)`)
	reKiln    = regexp.MustCompile(`Dockerfile[^:\s]*:(\d+)`)
)

// refLines are the Dockerfile lines BuildKit's error names (as "12", sorted, unique).
func refLines(log string) []string {
	set := map[string]bool{}
	for _, m := range reSnippet.FindAllStringSubmatch(log, -1) {
		set[m[1]] = true
	}
	if len(set) == 0 {
		if i := strings.LastIndex(log, "\nerror:"); i >= 0 {
			for _, m := range reParseAt.FindAllStringSubmatch(log[i:], -1) {
				set[m[1]] = true
			}
		}
	}
	var ls []string
	for l := range set {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	return ls
}

// kilnLine is the Dockerfile line kiln's error names.
func kilnLine(log string) string {
	if i := strings.LastIndex(log, "kiln:"); i >= 0 {
		log = log[i:]
	}
	if m := reKiln.FindStringSubmatch(log); m != nil {
		return m[1]
	}
	return ""
}

func errSummary(log string) string {
	var ls []string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "error:") || strings.HasPrefix(l, "kiln:") || strings.HasPrefix(l, "ERROR") {
			ls = append(ls, strings.TrimSpace(l))
		}
	}
	if len(ls) > 3 {
		ls = ls[len(ls)-3:]
	}
	return strings.Join(ls, "\n")
}

// compareErrors: kiln must fail too, naming a line BuildKit's error names (when it names any).
func compareErrors(c tcase, ref, kil result) []string {
	if ref.err == nil {
		return nil
	}
	if kil.err == nil {
		return []string{"BuildKit rejects this Dockerfile but kiln built it; BuildKit said:\n" + indent(errSummary(ref.log))}
	}
	rl, kl := refLines(ref.log), kilnLine(kil.log)
	var d []string
	if len(rl) > 0 && !contains(rl, kl) {
		d = append(d, fmt.Sprintf("error line: kiln names line %q, BuildKit line(s) %s\n    kiln: %s\n    ref : %s",
			kl, strings.Join(rl, ","), errSummary(kil.log), errSummary(ref.log)))
	}
	if c.spec.Line != 0 && !contains(rl, fmt.Sprint(c.spec.Line)) {
		d = append(d, fmt.Sprintf("case.json expects line %d, BuildKit named %v (fix the case)", c.spec.Line, rl))
	}
	return d
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func tail(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

func indent(s string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b.WriteString("    ")
		b.WriteString(sc.Text())
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

// subst replaces @REGISTRY@ in a case value.
func subst(e *env, v string) string {
	v = strings.ReplaceAll(v, "@REGISTRY_HOST@", registryHost(e.registry))
	return strings.ReplaceAll(v, "@REGISTRY@", e.registry)
}

var reCheckRule = regexp.MustCompile(`(?m)^WARNING: (\w+) - .*\n.*\n(?:Dockerfile[^:\s]*):(\d+)`)

// compareChecks compares the rules (and lines) both checks reported.
func compareChecks(ref, kil result) []string {
	rules := func(log string) []string {
		var out []string
		for _, m := range reCheckRule.FindAllStringSubmatch(log, -1) {
			out = append(out, m[1]+":"+m[2])
		}
		sort.Strings(out)
		return out
	}
	r, k := rules(ref.log), rules(kil.log)
	if strings.Join(r, " ") != strings.Join(k, " ") {
		return []string{fmt.Sprintf("check: BuildKit reported %v, kiln %v", r, k)}
	}
	if len(r) == 0 && !strings.Contains(kil.log, "no warnings found") {
		return []string{"check: kiln did not say the check found nothing"}
	}
	return nil
}

// compareMetadata compares the keys of the builders' metadata files (what
// buildx users read from them), and that each file's digests name an
// image (sha256).
func compareMetadata(w string) []string {
	read := func(name string) (map[string]any, error) {
		b, err := os.ReadFile(filepath.Join(w, name))
		if err != nil {
			return nil, err
		}
		var m map[string]any
		return m, json.Unmarshal(b, &m)
	}
	ref, err := read("ref-metadata.json")
	if err != nil {
		return []string{"reading BuildKit's metadata file: " + err.Error()}
	}
	kil, err := read("kiln-metadata.json")
	if err != nil {
		return []string{"reading kiln's metadata file: " + err.Error()}
	}
	keys := func(m map[string]any) []string {
		var out []string
		for k := range m {
			if !strings.HasPrefix(k, "buildx.") && !strings.HasPrefix(k, "buildkit.") {
				out = append(out, k)
			}
		}
		sort.Strings(out)
		return out
	}
	var diffs []string
	if rk, kk := keys(ref), keys(kil); strings.Join(rk, " ") != strings.Join(kk, " ") {
		diffs = append(diffs, fmt.Sprintf("metadata keys: BuildKit %v, kiln %v", rk, kk))
	}
	for _, k := range []string{"containerimage.digest", "containerimage.config.digest"} {
		if v, _ := kil[k].(string); ref[k] != nil && !strings.HasPrefix(v, "sha256:") {
			diffs = append(diffs, fmt.Sprintf("metadata %s: kiln wrote %q", k, v))
		}
	}
	return diffs
}
