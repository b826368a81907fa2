package runtime

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRunOverlayUpper runs in an overlay rootfs, as a RUN step does, and
// checks that the upper dir (the step's layer) holds only what the process
// wrote: no mount points, no /etc/hosts or /etc/resolv.conf.
func TestRunOverlayUpper(t *testing.T) {
	for _, e := range executors(t) {
		t.Run(e.name, func(t *testing.T) {
			lower := testRootfs(t)
			dir := t.TempDir()
			upper, work, merged := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
			for _, d := range []string{upper, work, merged} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work)
			if err := unix.Mount("overlay", merged, "overlay", 0, data); err != nil {
				t.Skip("overlay mount unavailable:", err)
			}
			t.Cleanup(func() { _ = unix.Unmount(merged, unix.MNT_DETACH) })
			res, err := run(context.Background(), t, e, "overlay", merged,
				"cat /etc/hosts /etc/resolv.conf >/dev/null && echo hi > /tmp/x")
			if err != nil || res.code != 0 {
				t.Fatalf("Run: %d %v %s", res.code, err, res.stderr)
			}
			// /etc is copied up when its missing /etc/hosts, /etc/resolv.conf and
			// /etc/hostname mount points are created; they are removed and the
			// directory's times restored, so it is unchanged from the lower one.
			got := tree(t, upper)
			want := []string{". d---------", "etc d---------", "tmp d---------", "tmp/x ----------"}
			if !slices.Equal(got, want) {
				t.Errorf("upper dir %q, want %q", got, want)
			}
			for _, d := range []string{"etc"} {
				var lst, ust unix.Stat_t
				if err := unix.Lstat(filepath.Join(lower, d), &lst); err != nil {
					t.Fatal(err)
				}
				if err := unix.Lstat(filepath.Join(upper, d), &ust); err != nil {
					t.Fatal(err)
				}
				if lst.Mtim != ust.Mtim || lst.Mode != ust.Mode {
					t.Errorf("upper %s: mode %o mtime %v, lower %o %v", d, ust.Mode, ust.Mtim, lst.Mode, lst.Mtim)
				}
			}
			if err := unix.Unmount(merged, 0); err != nil {
				t.Errorf("unmounting the rootfs after the run: %v", err)
			}
			checkClean(t, e, "overlay", merged)
		})
	}
}

// TestRunConcurrent runs containers in parallel on one executor.
func TestRunConcurrent(t *testing.T) {
	for _, e := range executors(t) {
		t.Run(e.name, func(t *testing.T) {
			rootfs := testRootfs(t)
			var wg sync.WaitGroup
			for i := range 4 {
				wg.Go(func() {
					id := fmt.Sprintf("par-%d", i)
					res, err := run(context.Background(), t, e, id, rootfs, fmt.Sprintf("echo %d; exit %d", i, i))
					if err != nil || res.code != i || res.stdout != fmt.Sprintf("%d\n", i) {
						t.Errorf("%s: code %d, stdout %q, err %v", id, res.code, res.stdout, err)
					}
				})
			}
			wg.Wait()
			checkClean(t, e, "par-0", rootfs)
		})
	}
}
