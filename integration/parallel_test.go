package integration

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestParallelStages: two independent stages run at the same time (their
// execution windows overlap) and a joining stage waits for both.
func TestParallelStages(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": `FROM busybox AS a
RUN cut -d" " -f1 /proc/uptime > /start && sleep 1.5 && cut -d" " -f1 /proc/uptime > /end
FROM busybox AS b
RUN cut -d" " -f1 /proc/uptime > /start && sleep 1.5 && cut -d" " -f1 /proc/uptime > /end
FROM scratch
COPY --from=a /start /a-start
COPY --from=a /end /a-end
COPY --from=b /start /b-start
COPY --from=b /end /b-end
`})
	start := time.Now()
	mustKiln(t, "build", "--no-cache", "--jobs", "2", "-t", "par:1", dir)
	wall := time.Since(start)
	f := flatten(t, storedImage(t, "par:1"))
	num := func(p string) float64 {
		v, err := strconv.ParseFloat(strings.TrimSpace(f[p].body), 64)
		if err != nil {
			t.Fatalf("%s: %q", p, f[p].body)
		}
		return v
	}
	if num("a-start") >= num("b-end") || num("b-start") >= num("a-end") {
		t.Errorf("stages did not overlap: a [%f, %f], b [%f, %f]", num("a-start"), num("a-end"), num("b-start"), num("b-end"))
	}
	t.Logf("two 1.5 s stages took %v wall", wall)
}

// TestFailureCancelsOtherStages: a failing stage stops a long-running
// sibling at once, and the first error is the one reported.
func TestFailureCancelsOtherStages(t *testing.T) {
	needSetup(t)
	dir := project(t, map[string]string{"Dockerfile": `FROM busybox AS slow
RUN sleep 60
FROM busybox AS broken
RUN exit 7
FROM scratch
COPY --from=slow /bin/busybox /a
COPY --from=broken /bin/busybox /b
`})
	start := time.Now()
	r := kiln(t, "build", "--no-cache", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "exit code: 7") {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("build took %v: the slow stage was not cancelled", d)
	}
	if m := mountsUnder(t, storeRoot); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
}

// TestConcurrentBuildsOneStore: builds running at once on one store all
// succeed and share base snapshots.
func TestConcurrentBuildsOneStore(t *testing.T) {
	needSetup(t)
	var wg sync.WaitGroup
	errs := make([]string, 4)
	for i := 0; i < 4; i++ {
		dir := project(t, map[string]string{"Dockerfile": "FROM busybox\nRUN echo " + strconv.Itoa(i) + " > /n && sleep 0.3\nCOPY Dockerfile /\n"})
		wg.Add(1)
		go func(i int, dir string) {
			defer wg.Done()
			if r := kiln(t, "build", "-t", "conc:"+strconv.Itoa(i), dir); r.code != 0 {
				errs[i] = r.stderr
			}
		}(i, dir)
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("build %d: %s", i, e)
		}
	}
	for i := 0; i < 4; i++ {
		if got := flatten(t, storedImage(t, "conc:"+strconv.Itoa(i)))["n"].body; got != strconv.Itoa(i)+"\n" {
			t.Errorf("conc:%d /n = %q", i, got)
		}
	}
}
