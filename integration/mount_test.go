package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/cli"
	"github.com/kiln-build/kiln/store"
)

// TestRunMounts: bind (context, stage, writable), cache (kept across
// builds), tmpfs and secret mounts; none of them reaches a layer.
func TestRunMounts(t *testing.T) {
	needSetup(t)
	secret := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secret, []byte("s3cr3t"), 0o600)
	dir := project(t, map[string]string{
		"Dockerfile": `FROM busybox AS src
RUN mkdir /data && echo from-stage > /data/f
FROM busybox
ARG RUNID
RUN --mount=type=bind,source=conf,target=/conf cat /conf/a.txt > /from-context.txt && ! test -e /conf/ignored.txt
RUN --mount=type=bind,from=src,source=/data,target=/d,rw echo scribble > /d/f && cat /d/f > /rw.txt
RUN --mount=type=bind,from=src,source=/data,target=/d cat /d/f > /from-stage.txt
RUN --mount=type=cache,target=/var/cache/app,id=appcache echo "$RUNID" >> /var/cache/app/runs && cat /var/cache/app/runs > /runs.txt
RUN --mount=type=tmpfs,target=/scratch touch /scratch/x && ls /scratch > /tmpfs.txt
RUN --mount=type=secret,id=token cat /run/secrets/token > /secret-copy.txt; wc -c < /run/secrets/token > /secret-len.txt
RUN --mount=type=secret,id=token,env=TOKEN echo "${#TOKEN}" > /secret-env-len.txt
`,
		"conf/a.txt":       "ctx\n",
		"conf/ignored.txt": "no\n",
		".dockerignore":    "conf/ignored.txt\n",
	})
	mustKiln(t, "build", "-t", "mounts:1", "--build-arg", "RUNID=one", "--secret", "id=token,src="+secret, dir)
	mustKiln(t, "build", "-t", "mounts:2", "--build-arg", "RUNID=two", "--secret", "id=token,src="+secret, dir)
	f := flatten(t, storedImage(t, "mounts:2"))
	want := map[string]string{
		"from-context.txt":   "ctx\n",
		"rw.txt":             "scribble\n",
		"from-stage.txt":     "from-stage\n",
		"runs.txt":           "one\ntwo\n",
		"tmpfs.txt":          "x\n",
		"secret-len.txt":     "6\n",
		"secret-env-len.txt": "6\n",
	}
	for p, w := range want {
		if got := strings.TrimLeft(f[p].body, " "); got != w {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
	if f["secret-copy.txt"].body != "s3cr3t" {
		t.Errorf("secret file content: %q", f["secret-copy.txt"].body)
	}
	for p := range f {
		for _, mp := range []string{"conf", "d", "var/cache/app", "scratch", "run/secrets"} {
			if p == mp || strings.HasPrefix(p, mp+"/") {
				t.Errorf("mount point %s reached a layer", p)
			}
		}
	}
	cf, _ := storedImage(t, "mounts:2").ConfigFile()
	for _, h := range cf.History {
		if strings.Contains(h.CreatedBy, "s3cr3t") {
			t.Errorf("secret in history: %s", h.CreatedBy)
		}
	}

	missing := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=secret,id=nope,required cat /run/secrets/nope\n"})
	if r := kiln(t, "build", missing); r.code != 1 || !strings.Contains(r.stderr, "Dockerfile:2:") || !strings.Contains(r.stderr, "nope") {
		t.Errorf("missing required secret: exit %d\n%s", r.code, r.stderr)
	}
}

// TestCacheMountLocks: a RUN that mounts one locked cache id twice runs
// (it takes the id's lock once), and a build waiting for a cache lock that
// another process holds stops at once when interrupted.
func TestCacheMountLocks(t *testing.T) {
	needSetup(t)
	root := t.TempDir()
	if r := kilnIn(t, root, nil, "import", "-c", `CMD ["sh"]`, bbRootfs(t), "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	twice := project(t, map[string]string{"Dockerfile": "FROM busybox\n" +
		"RUN --mount=type=cache,id=c1,target=/a,sharing=locked --mount=type=cache,id=c1,target=/b,sharing=locked " +
		"echo x > /a/f && cat /b/f > /seen\n"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	if code := cli.Execute(ctx, []string{"--root", root, "build", "-t", "twice:1", twice}, nil, &out, &errb); code != 0 {
		t.Fatalf("one id mounted twice: exit %d (deadlock?)\n%s", code, errb.String())
	}

	// another holder of c2's lock: the build must wait, and stop on interrupt
	sum := sha256.Sum256([]byte("c2"))
	lockPath := filepath.Join(root, "mounts", "cache", hex.EncodeToString(sum[:16])+".lock")
	os.MkdirAll(filepath.Dir(lockPath), 0o700)
	held, err := store.LockFile(context.Background(), lockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()
	waits := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN --mount=type=cache,id=c2,target=/c,sharing=locked echo did-$((40+2))\n"})
	b := startKiln(t, root, "build", waits)
	b.waitFor(t, "RUN --mount")
	time.Sleep(300 * time.Millisecond)
	if code, ok := b.exited(); ok {
		t.Fatalf("build did not wait for the held lock (exit %d):\n%s", code, b.stderr.String())
	}
	if code := b.interrupt(t, 10*time.Second); code != 130 {
		t.Errorf("interrupted lock wait: exit %d, want 130\n%s", code, b.stderr.String())
	}
	if strings.Contains(b.stderr.String(), "did-42") {
		t.Error("the RUN ran while another process held its cache lock")
	}
}
