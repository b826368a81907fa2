package runtime

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/sirupsen/logrus"
)

func TestBreakdown(t *testing.T) {
	if os.Getenv("BREAKDOWN") == "" {
		t.Skip()
	}
	if os.Getenv("BREAKDOWN") == "debug" {
		logrus.SetLevel(logrus.DebugLevel)
	}
	rootfs := testRootfs(t)
	stateDir := t.TempDir()
	l, _ := NewLibcontainer(stateDir)
	lc := l.(*Libcontainer)
	spec, _ := NewSpec(Spec{Rootfs: rootfs, Process: Process{Args: []string{"/bin/true"}, Cwd: "/"}})
	names := []string{"etc", "acquire", "specconv", "create", "run", "wait", "destroy", "release", "rmfiles"}
	times := map[string][]time.Duration{}
	n := 30
	if os.Getenv("N") != "" {
		fmt.Sscan(os.Getenv("N"), &n)
	}
	var totals []time.Duration
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("bd-%d", i)
		t0 := time.Now()
		start := t0
		lap := func(n string) { times[n] = append(times[n], time.Since(t0)); t0 = time.Now() }
		files, _ := os.MkdirTemp(lc.stateDir, ".etc-"+id+"-")
		s, err := prepareSpec(spec, id, files, lc.opts)
		if err != nil {
			t.Fatal(err)
		}
		lap("etc")
		release := acquireRootfs(s.Root.Path, s.Mounts)
		lap("acquire")
		cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: id, Spec: s})
		if err != nil {
			t.Fatal(err)
		}
		lap("specconv")
		c, err := libcontainer.Create(lc.stateDir, id, cfg)
		if err != nil {
			t.Fatal(err)
		}
		lap("create")
		p, _ := newLibcontainerProcess(s.Process, Stdio{})
		if err := c.Run(p); err != nil {
			t.Fatal(err)
		}
		lap("run")
		if _, err := waitLibcontainer(context.Background(), c, p); err != nil {
			t.Fatal(err)
		}
		lap("wait")
		if err := c.Destroy(); err != nil {
			t.Fatal(err)
		}
		lap("destroy")
		if err := release(); err != nil {
			t.Fatal(err)
		}
		lap("release")
		os.RemoveAll(files)
		lap("rmfiles")
		totals = append(totals, time.Since(start))
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i] < totals[j] })
	t.Logf("TOTAL median %.2fms p25 %.2fms p75 %.2fms", float64(totals[len(totals)/2])/1e6, float64(totals[len(totals)/4])/1e6, float64(totals[3*len(totals)/4])/1e6)
	var total time.Duration
	for _, n := range names {
		d := times[n]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		total += d[len(d)/2]
		t.Logf("%-9s median %6.2fms  min %6.2fms", n, float64(d[len(d)/2])/1e6, float64(d[0])/1e6)
	}
	t.Logf("sum of medians %.2fms", float64(total)/1e6)
}
