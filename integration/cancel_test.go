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
	b := startKiln(t, root, "build", "-t", "cancelled:1", dir)
	b.waitFor(t, "started")
	if code := b.interrupt(t, 10*time.Second); code != 130 {
		t.Fatalf("cancelled build: exit %d, want 130", code)
	}
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
	b := startKiln(t, root, "build", "-t", "cancelled:copy", dir)
	b.waitFor(t, "COPY . /ctx/")
	if code := b.interrupt(t, 15*time.Second); code != 130 {
		t.Errorf("interrupted COPY: exit %d, want 130\n%s", code, b.stderr.String())
	}
	if strings.Contains(kilnIn(t, root, nil, "images").stdout, "cancelled") {
		t.Error("cancelled build tagged an image")
	}
}

// background is a kiln command running in a goroutine, to be interrupted.
type background struct {
	cancel context.CancelFunc
	stderr *syncBuffer
	done   chan int
}

// startKiln starts a kiln command on the store at root.
func startKiln(t *testing.T, root string, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b := &background{cancel: cancel, stderr: &syncBuffer{}, done: make(chan int, 1)}
	go func() {
		b.done <- cli.Execute(ctx, append([]string{"--root", root}, args...), nil, &bytes.Buffer{}, b.stderr)
	}()
	return b
}

// waitFor waits until the command has printed text.
func (b *background) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.stderr.String(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never printed:\n%s", text, b.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exited returns the exit code if the command has ended.
func (b *background) exited() (int, bool) {
	select {
	case code := <-b.done:
		return code, true
	default:
		return 0, false
	}
}

// interrupt cancels the command (Ctrl-C) and returns its exit code; the
// test fails if it does not end within d.
func (b *background) interrupt(t *testing.T, d time.Duration) int {
	t.Helper()
	start := time.Now()
	b.cancel()
	select {
	case code := <-b.done:
		t.Logf("stopped %v after the interrupt", time.Since(start).Round(time.Millisecond))
		return code
	case <-time.After(d):
		t.Fatalf("the command did not stop within %v of the interrupt", d)
		return -1
	}
}
