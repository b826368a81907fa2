package integration

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fault is what faultProxy does to the responses of the requests whose
// path contains match.
type fault struct {
	match string
	kind  string // "500", "reset" (close before replying), "cut" (half the body), "corrupt" (a byte flipped), "slow"
	times int    // how many matching requests get it; 0: all
}

// faultProxy relays requests to a registry, injecting faults; it counts
// the GETs of each path.
type faultProxy struct {
	upstream string
	mu       sync.Mutex
	faults   []*fault
	fired    map[string]int // kind → times
	gets     map[string]int // path → GETs
}

// startFaultProxy serves on 127.0.0.1 in front of the registry at
// upstream (host:port) and returns the proxy's host:port.
func startFaultProxy(t *testing.T, upstream string) (*faultProxy, string) {
	t.Helper()
	p := &faultProxy{upstream: upstream, fired: map[string]int{}, gets: map[string]int{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, strings.TrimPrefix(srv.URL, "http://")
}

// set replaces the faults and forgets the counts.
func (p *faultProxy) set(faults ...fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
	for _, f := range faults {
		p.faults = append(p.faults, &f)
	}
	p.fired, p.gets = map[string]int{}, map[string]int{}
}

func (p *faultProxy) counts(kind, path string) (fired, gets int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, n := range p.gets {
		if strings.Contains(k, path) {
			gets += n
		}
	}
	return p.fired[kind], gets
}

// pick returns the fault for r, if one applies now.
func (p *faultProxy) pick(r *http.Request) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Method == http.MethodGet {
		p.gets[r.URL.Path]++
	}
	for _, f := range p.faults {
		if r.Method != http.MethodGet || !strings.Contains(r.URL.Path, f.match) {
			continue
		}
		if f.times > 0 && p.fired[f.kind] >= f.times {
			continue
		}
		p.fired[f.kind]++
		return f.kind
	}
	return ""
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := p.pick(r)
	switch kind {
	case "500":
		http.Error(w, "injected", http.StatusInternalServerError)
		return
	case "reset":
		panic(http.ErrAbortHandler) // closes the connection, no reply
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+p.upstream+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	req.ContentLength = r.ContentLength
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	if resp.StatusCode != http.StatusOK || kind == "" {
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		return
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	switch kind {
	case "cut":
		w.Write(body[:len(body)/2])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // the client sees the body end early
	case "corrupt":
		body[len(body)/2] ^= 0xff
		w.Write(body)
	case "slow": // 10 KB/s, until the client goes away
		for len(body) > 0 && r.Context().Err() == nil {
			n := min(1024, len(body))
			if _, err := w.Write(body[:n]); err != nil {
				return
			}
			http.NewResponseController(w).Flush()
			body = body[n:]
			time.Sleep(100 * time.Millisecond)
		}
	default:
		w.Write(body)
	}
}
