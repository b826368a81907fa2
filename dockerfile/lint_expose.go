package dockerfile

// The checks of EXPOSE (dockerfile2llb's convert_expose.go):
// ExposeProtoCasing, ExposeInvalidFormat, and the port errors that stop a
// build.

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
)

func (c *checker) checkExpose(d *stageState, ic *instructions.ExposeCommand, lint *linter.Linter) error {
	var ports []string
	for _, p := range ic.Ports {
		ps, err := c.shlex.ProcessWords(p, d.env)
		if err != nil {
			return err
		}
		ports = append(ports, ps...)
	}
	for _, p := range ports {
		if err := checkPort(p, ic, lint); err != nil {
			return err
		}
	}
	return nil
}

// checkPort checks one [ip:][hostPort:]port[/proto].
func checkPort(raw string, ic *instructions.ExposeCommand, lint *linter.Linter) error {
	ip, hostPort, containerPort := splitPortParts(raw)
	port, proto, _ := strings.Cut(containerPort, "/")
	if port == "" {
		return fmt.Errorf("invalid port: %q: no port specified", raw)
	}
	switch strings.ToLower(proto) {
	case "", "tcp", "udp", "sctp":
	default:
		return fmt.Errorf("invalid port: %q: invalid proto: %s", raw, proto)
	}
	if proto != strings.ToLower(proto) {
		lint.Run(&linter.RuleExposeProtoCasing, ic.Location(), linter.RuleExposeProtoCasing.Format(raw))
	}
	if ip != "" || hostPort != "" {
		lint.Run(&linter.RuleExposeInvalidFormat, ic.Location(), linter.RuleExposeInvalidFormat.Format(raw))
	}
	if ip != "" && ip[0] == '[' {
		host, _, err := net.SplitHostPort(ip + ":")
		if err != nil {
			return fmt.Errorf("invalid IP address %v: %w", ip, err)
		}
		ip = host
	}
	if ip != "" && net.ParseIP(ip) == nil {
		return errors.New("invalid IP address: " + ip)
	}
	start, end, err := portRange(port)
	if err != nil {
		return errors.New("invalid containerPort: " + port)
	}
	if hostPort != "" {
		hs, he, err := portRange(hostPort)
		if err != nil {
			return errors.New("invalid hostPort: " + hostPort)
		}
		if end-start != he-hs && end != start {
			return fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", port, hostPort)
		}
	}
	return nil
}

func splitPortParts(raw string) (ip, hostPort, containerPort string) {
	parts := strings.Split(raw, ":")
	n := len(parts)
	switch n {
	case 1:
		return "", "", parts[0]
	case 2:
		return "", parts[0], parts[1]
	}
	return strings.Join(parts[:n-2], ":"), parts[n-2], parts[n-1]
}

func portRange(ports string) (start, end int, _ error) {
	if ports == "" {
		return 0, 0, errors.New("empty string specified for ports")
	}
	s, e, ok := strings.Cut(ports, "-")
	start, err := portNumber(s)
	if err != nil {
		return 0, 0, err
	}
	if !ok || s == e {
		return start, start, nil
	}
	if end, err = portNumber(e); err != nil {
		return 0, 0, err
	}
	if end < start {
		return 0, 0, errors.New("invalid port range: " + ports)
	}
	return start, end, nil
}

func portNumber(s string) (int, error) {
	p, err := strconv.ParseInt(s, 10, 0)
	if err != nil {
		return 0, err
	}
	if p < 0 || p > 65535 {
		return 0, errors.New("value out of range (0–65535)")
	}
	return int(p), nil
}
