package runtime

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
)

// resolvConf is a parsed resolv.conf, as BuildKit (util/resolvconf, from
// moby) parses it: comments and blank lines dropped, the last search (or
// domain) line wins, options accumulate, other lines are kept as they are.
type resolvConf struct {
	nameservers []netip.Addr
	search      []string
	options     []string
	other       []string
}

func parseResolvConf(data []byte) resolvConf {
	var rc resolvConf
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case f[0] == "nameserver":
			if len(f) > 1 {
				if a, err := netip.ParseAddr(f[1]); err == nil {
					rc.nameservers = append(rc.nameservers, a)
				}
			}
		case f[0] == "search" || f[0] == "domain":
			if len(f) > 1 {
				rc.search = f[1:]
			}
		case f[0] == "options":
			rc.options = append(rc.options, f[1:]...)
		default:
			rc.other = append(rc.other, line)
		}
	}
	return rc
}

// defaultNameservers are BuildKit's (and docker's) fallback nameservers.
var defaultNameservers = []netip.Addr{
	netip.MustParseAddr("8.8.8.8"),
	netip.MustParseAddr("8.8.4.4"),
	netip.MustParseAddr("2001:4860:4860::8888"),
	netip.MustParseAddr("2001:4860:4860::8844"),
}

// forOwnNetwork drops the loopback nameservers, which a container with its
// own network namespace cannot reach, and falls back to
// defaultNameservers if none is left (BuildKit's TransformForLegacyNw).
func (rc *resolvConf) forOwnNetwork() {
	var kept []netip.Addr
	for _, a := range rc.nameservers {
		if !a.IsLoopback() {
			kept = append(kept, a)
		}
	}
	rc.nameservers = kept
	if len(kept) == 0 {
		rc.nameservers = defaultNameservers
	}
}

// bytes renders rc as BuildKit does.
func (rc *resolvConf) bytes() []byte {
	var b bytes.Buffer
	for _, a := range rc.nameservers {
		b.WriteString("nameserver " + a.String() + "\n")
	}
	if len(rc.search) > 0 {
		b.WriteString("search " + strings.Join(rc.search, " ") + "\n")
	}
	if len(rc.options) > 0 {
		b.WriteString("options " + strings.Join(rc.options, " ") + "\n")
	}
	for _, o := range rc.other {
		b.WriteString(o + "\n")
	}
	return b.Bytes()
}

// containerResolvConf returns the /etc/resolv.conf for a container from
// the host's: BuildKit's rendering, without loopback nameservers unless
// the container shares the host's network (hostNetwork).
func containerResolvConf(host []byte, hostNetwork bool) []byte {
	rc := parseResolvConf(host)
	if !hostNetwork || len(rc.nameservers) == 0 {
		rc.forOwnNetwork()
	}
	return rc.bytes()
}

// onlySystemdResolved reports whether a resolv.conf names only
// systemd-resolved's stub resolver, 127.0.0.53.
func onlySystemdResolved(data []byte) bool {
	ns := parseResolvConf(data).nameservers
	return len(ns) == 1 && ns[0] == netip.MustParseAddr("127.0.0.53")
}
