package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tcpServer answers "hello\n" to every connection and counts them.
type tcpServer struct {
	host  string
	port  int
	conns atomic.Int32
}

func listenTCP(t *testing.T, host string) *tcpServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &tcpServer{host: host, port: ln.Addr().(*net.TCPAddr).Port}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			_, _ = c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
	return s
}

// ncScript connects to s with busybox nc and prints what it got, or that
// it could not connect.
func (s *tcpServer) ncScript(host string) string {
	return fmt.Sprintf("echo | nc -w 3 %s %d 2>/dev/null || echo no-connection", host, s.port)
}

// hostAddr returns a non-loopback IPv4 address of this host.
func hostAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skip("no interface addresses:", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	t.Skip("the host has no non-loopback IPv4 address")
	return ""
}

func requireSlirp4netns(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("no /dev/net/tun:", err)
	}
	if _, err := exec.LookPath("slirp4netns"); err != nil {
		t.Skip("slirp4netns not on PATH (Debian: apt-get install slirp4netns)")
	}
}

// TestRunNetworkModes checks what each network mode reaches: a server on
// the host's own (non-loopback) address, a server bound to the host's
// loopback, and the interfaces the container has.
func TestRunNetworkModes(t *testing.T) {
	ext := listenTCP(t, hostAddr(t))
	lo := listenTCP(t, "127.0.0.1")
	script := strings.Join([]string{
		"ls /sys/class/net | tr '\\n' ' '; echo",
		ext.ncScript(ext.host),
		lo.ncScript("127.0.0.1"),
		lo.ncScript("10.0.2.2"), // slirp4netns's alias of the host's loopback, disabled
	}, "\n")
	hostIfs := "?"
	if ifs, err := net.Interfaces(); err == nil {
		var names []string
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		slices.Sort(names)
		hostIfs = strings.Join(names, " ") + " "
	}
	tests := []struct {
		network Network
		want    []string // lines of stdout; "*" matches any line
		loConns int32
	}{
		// docker build's bridge: out to the host's address, not to its loopback.
		{NetworkDefault, []string{"eth0 lo ", "hello", "no-connection", "no-connection"}, 0},
		{NetworkNone, []string{"lo ", "no-connection", "no-connection", "no-connection"}, 0},
		{NetworkHost, []string{hostIfs, "hello", "hello", "*"}, 1},
	}
	for _, e := range executors(t) {
		for _, tt := range tests {
			t.Run(e.name+"/"+tt.network.String(), func(t *testing.T) {
				if tt.network == NetworkDefault {
					requireSlirp4netns(t)
				}
				rootfs := testRootfs(t)
				before := lo.conns.Load()
				id := "net-" + tt.network.String()
				res, err := run(context.Background(), t, e, id, rootfs, script, func(s *Spec) { s.Network = tt.network })
				if err != nil || res.code != 0 {
					t.Fatalf("Run: %d %v %s", res.code, err, res.stderr)
				}
				got := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
				if len(got) != len(tt.want) {
					t.Fatalf("stdout %q, want lines %q", res.stdout, tt.want)
				}
				for i, w := range tt.want {
					if w != "*" && got[i] != w {
						t.Errorf("line %d: %q, want %q", i+1, got[i], w)
					}
				}
				if n := lo.conns.Load() - before; n != tt.loConns {
					t.Errorf("%d connections to the host's loopback server, want %d", n, tt.loConns)
				}
				checkClean(t, e, id, rootfs)
				checkNoSlirp(t)
			})
		}
	}
}

// TestRunNetworkDefaultDNS resolves a name in a NetworkDefault container
// through the host's nameservers, when the host can resolve it.
func TestRunNetworkDefaultDNS(t *testing.T) {
	requireSlirp4netns(t)
	const name = "proxy.golang.org"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r := &net.Resolver{PreferGo: true} // /etc/resolv.conf, as the container
	addrs, err := r.LookupHost(ctx, name)
	if err != nil {
		t.Skipf("the host cannot resolve %s: %v", name, err)
	}
	for _, e := range executors(t) {
		t.Run(e.name, func(t *testing.T) {
			rootfs := testRootfs(t)
			res, err := run(context.Background(), t, e, "dns", rootfs, "nslookup "+name, func(s *Spec) { s.Network = NetworkDefault })
			if err != nil || res.code != 0 {
				t.Fatalf("nslookup: %d %v %s %s", res.code, err, res.stdout, res.stderr)
			}
			if !strings.Contains(res.stdout, addrs[0]) {
				t.Errorf("nslookup %s: %q does not contain %s", name, res.stdout, addrs[0])
			}
			checkNoSlirp(t)
		})
	}
}

func TestRunNetworkDefaultCancel(t *testing.T) {
	requireSlirp4netns(t)
	for _, e := range executors(t) {
		t.Run(e.name, func(t *testing.T) {
			rootfs := testRootfs(t)
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			_, err := run(ctx, t, e, "netcancel", rootfs, "sleep 100", func(s *Spec) { s.Network = NetworkDefault })
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want context.DeadlineExceeded", err)
			}
			checkClean(t, e, "netcancel", rootfs)
			checkNoSlirp(t)
		})
	}
}

func TestRunNoSlirp4netns(t *testing.T) {
	for _, e := range executors(t, WithSlirp4netns("/nonexistent/slirp4netns")) {
		t.Run(e.name, func(t *testing.T) {
			rootfs := testRootfs(t)
			_, err := run(context.Background(), t, e, "noslirp", rootfs, "true", func(s *Spec) { s.Network = NetworkDefault })
			if !errors.Is(err, ErrNoSlirp4netns) {
				t.Fatalf("err = %v, want ErrNoSlirp4netns", err)
			}
			checkClean(t, e, "noslirp", rootfs)
		})
	}
}

// checkNoSlirp fails if a slirp4netns started by this process is still
// there.
func checkNoSlirp(t testing.TB) {
	t.Helper()
	if pids := slirpChildren(os.Getpid()); len(pids) > 0 {
		t.Errorf("slirp4netns left running: %v", pids)
	}
}

// slirpChildren returns the slirp4netns processes whose parent is ppid.
func slirpChildren(ppid int) []int {
	var pids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(data)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != "slirp4netns" {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			pids = append(pids, pid)
		}
	}
	return pids
}

// BenchmarkNetworkDefaultSetup measures what NetworkDefault adds to a Run:
// the namespace, slirp4netns until it is ready, and the teardown.
func BenchmarkNetworkDefaultSetup(b *testing.B) {
	requireRoot(b)
	if _, err := exec.LookPath("slirp4netns"); err != nil {
		b.Skip("slirp4netns not on PATH")
	}
	spec, err := NewSpec(Spec{Rootfs: "/", Process: Process{Args: []string{"true"}, Cwd: "/"}})
	if err != nil {
		b.Fatal(err)
	}
	o, _ := makeOptions(nil)
	for b.Loop() {
		s := *spec
		linux := *spec.Linux
		s.Linux = &linux
		stop, err := setupNetwork(context.Background(), &s, o)
		if err != nil {
			b.Fatal(err)
		}
		stop()
	}
}
