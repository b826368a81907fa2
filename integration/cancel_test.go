package integration

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-build/kiln/internal/cli"
)

// TestCancelDuringRun: interrupting a build while a RUN is running stops
// the container and leaves no mounts, no temp state and no snapshot behind;
// the next build on the store works.
func TestCancelDuringRun(t *testing.T) {
	needSetup(t)
	root := t.TempDir()
	if r := kilnIn(t, root, nil, "import", "-c", `CMD ["sh"]`, bbRootfs(t), "busybox:latest"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	snapsBefore := dirNames(t, filepath.Join(root, "snapshots"))
	dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo started; sleep 100\n"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- cli.Execute(ctx, []string{"--root", root, "build", "-t", "cancelled:1", dir}, nil, &bytes.Buffer{}, stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "started") {
		if time.Now().After(deadline) {
			t.Fatalf("RUN never started:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	cancel()
	select {
	case code := <-done:
		if code == 0 {
			t.Fatal("cancelled build succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("build did not stop within 10s of the interrupt")
	}
	t.Logf("stopped %v after the interrupt", time.Since(start))
	if m := mountsUnder(t, root); len(m) > 0 {
		t.Errorf("mounts left behind: %v", m)
	}
	if left := dirNames(t, filepath.Join(root, "tmp")); len(left) > 0 {
		t.Errorf("temp state left behind: %v", left)
	}
	if after := dirNames(t, filepath.Join(root, "snapshots")); strings.Join(after, ",") != strings.Join(snapsBefore, ",") {
		t.Errorf("snapshots changed: %v → %v", snapsBefore, after)
	}
	if strings.Contains(kilnIn(t, root, nil, "images").stdout, "cancelled") {
		t.Error("cancelled build tagged an image")
	}
	ok := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo fine > /f\n"})
	if r := kilnIn(t, root, nil, "build", "-t", "after:1", ok); r.code != 0 {
		t.Fatalf("build after cancel: %s", r.stderr)
	}
}

func bbRootfs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rootfs")
	if err := makeBusybox(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir) {
			out = append(out, fields[4])
		}
	}
	return out
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCancelDuringCopy: an interrupt while a COPY reads a large context
// ends the build like one during a RUN: exit 130, nothing tagged.
func TestCancelDuringCopy(t *testing.T) {
	needSetup(t)
	root := t.TempDir()
	dir := project(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY . /ctx/\n"})
	for i := 0; i < 4; i++ {
		f, err := os.Create(filepath.Join(dir, "big"+strconv.Itoa(i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(512 << 20) // sparse: costs no disk, but every byte is read and hashed
		f.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- cli.Execute(ctx, []string{"--root", root, "build", "-t", "cancelled:copy", dir}, nil, &bytes.Buffer{}, stderr)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "COPY . /ctx/") {
		if time.Now().After(deadline) {
			t.Fatalf("COPY never started:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != 130 {
			t.Errorf("interrupted COPY: exit %d, want 130\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("build did not stop within 15s of the interrupt")
	}
	if strings.Contains(kilnIn(t, root, nil, "images").stdout, "cancelled") {
		t.Error("cancelled build tagged an image")
	}
}
