package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHTMLRendersOffline opens WriteHTML's page in headless Chromium with
// every host name unresolvable: the page must draw (a screenshot that is
// not blank, its script run to the end) without asking the network for
// anything (Chromium's net log lists no request the page made). A control
// page that does fetch proves the net-log check sees page requests.
// CI installs Debian's chromium; without it the test is skipped.
func TestHTMLRendersOffline(t *testing.T) {
	bin := chromiumBinary(t)
	st := newStore(t)
	sampleImage(t).put(t, st)
	rep, err := Analyze(context.Background(), st, "sample:1", WithoutLayerCache())
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	// nothing to fetch in the page itself
	html := page.String()
	for _, bad := range []string{"src=", "href=", "url(", "@import", "https://"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page has %q: it must not load anything", bad)
		}
	}
	if n := strings.Count(html, "<rect "); n < 10 {
		t.Errorf("the treemap has %d boxes", n)
	}
	dir := t.TempDir()
	pagePath := filepath.Join(dir, "page.html")
	if err := os.WriteFile(pagePath, page.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	shot, netlog := filepath.Join(dir, "shot.png"), filepath.Join(dir, "net.json")
	runChromium(t, bin, "--screenshot="+shot, "--window-size=1200,900", "--log-net-log="+netlog, "file://"+pagePath)
	checkScreenshot(t, shot)
	if reqs := pageRequests(t, netlog); len(reqs) > 0 {
		t.Errorf("the page made network requests: %q", reqs)
	}
	dom := runChromium(t, bin, "--dump-dom", "file://"+pagePath)
	if !bytes.Contains(dom, []byte(`data-ready="yes"`)) {
		t.Errorf("the page's script did not run to its end:\n%.2000s", dom)
	}

	// the control: a page that fetches is caught
	control := filepath.Join(dir, "control.html")
	os.WriteFile(control, []byte(`<!DOCTYPE html><img src="http://example.invalid/x.png"><p>control</p>`), 0o644)
	controlLog := filepath.Join(dir, "control.json")
	runChromium(t, bin, "--dump-dom", "--log-net-log="+controlLog, "file://"+control)
	if reqs := pageRequests(t, controlLog); len(reqs) == 0 {
		t.Error("the net log shows no request of the control page: the offline check cannot see requests")
	}
}

func chromiumBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("needs headless Chromium (apt-get install chromium)")
	return ""
}

// runChromium runs headless Chromium offline: no sandbox (it may run as
// root), no background services, every host name unresolvable.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
		"--user-data-dir=" + filepath.Join(home, "profile"), `--host-resolver-rules=MAP * ~NOTFOUND`}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// checkScreenshot wants a picture: many colors, mostly not background.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	colors := make(map[[3]uint32]bool)
	var inked, total int
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colors[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
			total++
			if r>>8 < 235 || g>>8 < 235 || bl>>8 < 235 {
				inked++
			}
		}
	}
	if len(colors) < 16 || inked*100 < total*25 {
		t.Errorf("the screenshot looks blank: %d colors, %d%% inked", len(colors), inked*100/total)
	}
}

var webURL = regexp.MustCompile(`^(https?|wss?|ftp)://`)

// pageRequests lists the URLs a page asked for in a Chromium net log:
// requests whose initiator is an origin (a file:// page's is "null");
// Chromium's own background requests have none ("not an origin").
func pageRequests(t *testing.T, path string) []string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no net log: %v", err)
	}
	var log struct {
		Constants struct {
			LogEventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int `json:"type"`
			Params struct {
				URL       string `json:"url"`
				Initiator string `json:"initiator"`
			} `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(raw, &log); err != nil {
		t.Fatalf("net log: %v", err)
	}
	start, ok := log.Constants.LogEventTypes["URL_REQUEST_START_JOB"]
	if !ok {
		t.Fatal("net log without URL_REQUEST_START_JOB events: cannot check requests")
	}
	var out []string
	for _, e := range log.Events {
		if e.Type == start && webURL.MatchString(e.Params.URL) && e.Params.Initiator != "not an origin" {
			out = append(out, e.Params.URL)
		}
	}
	return out
}
