package solver

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/moby/sys/signal"

	"github.com/kiln-build/kiln/image"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// runMetadata runs the instructions that only change the image config.
func (s *stage) runMetadata(c instructions.Command) error {
	cfg := &s.img.Config.Config
	switch c := c.(type) {
	case *instructions.EnvCommand:
		var shown []string
		for _, kv := range c.Env {
			cfg.Env = image.EnvSet(cfg.Env, kv.Key, kv.Value)
			s.env = image.EnvSet(s.env, kv.Key, kv.Value)
			shown = append(shown, kv.Key+"="+kv.Value)
		}
		s.history("ENV "+strings.Join(shown, " "), false, false)
	case *instructions.LabelCommand:
		var shown []string
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		} else {
			cfg.Labels = maps.Clone(cfg.Labels)
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
			shown = append(shown, kv.Key+"="+kv.Value)
		}
		s.history("LABEL "+strings.Join(shown, " "), false, false)
	case *instructions.UserCommand:
		cfg.User = c.User
		s.history("USER "+c.User, false, false)
	case *instructions.CmdCommand:
		cfg.Cmd = s.withShell(c.ShellDependantCmdLine)
		cfg.ArgsEscaped = true
		s.cmdSet = true
		s.history(fmt.Sprintf("CMD %q", cfg.Cmd), false, false)
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = s.withShell(c.ShellDependantCmdLine)
		if len(cfg.Entrypoint) == 0 {
			cfg.Entrypoint = nil
		}
		if !s.cmdSet {
			cfg.Cmd = nil
		}
		s.history(fmt.Sprintf("ENTRYPOINT %q", cfg.Entrypoint), false, false)
	case *instructions.ExposeCommand:
		return s.runExpose(c)
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		} else {
			cfg.Volumes = maps.Clone(cfg.Volumes)
		}
		for _, v := range c.Volumes {
			v = strings.TrimSpace(v)
			if v == "" {
				return s.errorf(c.Location(), "VOLUME specified can not be an empty string")
			}
			cfg.Volumes[v] = struct{}{}
		}
		s.history(fmt.Sprintf("VOLUME %v", c.Volumes), false, false)
	case *instructions.StopSignalCommand:
		if _, err := signal.ParseSignal(c.Signal); err != nil { // as BuildKit
			return s.errorf(c.Location(), "STOPSIGNAL %s: %v", c.Signal, err)
		}
		cfg.StopSignal = c.Signal
		s.history("STOPSIGNAL "+c.Signal, false, false)
	case *instructions.HealthCheckCommand:
		h := dockerspec.HealthcheckConfig(*c.Health)
		cfg.Healthcheck = &h
		s.history(fmt.Sprintf("HEALTHCHECK %+v", *c.Health), false, false)
	case *instructions.ShellCommand:
		cfg.Shell = append([]string(nil), c.Shell...)
		s.history(fmt.Sprintf("SHELL %v", cfg.Shell), false, false)
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.MaintainerCommand:
		s.img.Config.Author = c.Maintainer
		s.history("MAINTAINER "+c.Maintainer, false, false)
	default:
		return s.errorf(c.Location(), "%s is not supported", strings.ToUpper(c.Name()))
	}
	return nil
}

// withShell turns a shell-form command line into argv with the stage's
// SHELL (default /bin/sh -c); exec form is returned as is.
func (s *stage) withShell(cl instructions.ShellDependantCmdLine) []string {
	if !cl.PrependShell {
		return append([]string(nil), cl.CmdLine...)
	}
	return append(s.shell(), strings.Join(cl.CmdLine, " "))
}

func (s *stage) shell() []string {
	if sh := s.img.Config.Config.Shell; len(sh) > 0 {
		return append([]string(nil), sh...)
	}
	return []string{"/bin/sh", "-c"}
}

// runExpose adds ports as BuildKit does: each spec expanded with word
// splitting, ranges expanded, protocol lower-cased (default tcp), any
// ip/host-port prefix dropped.
func (s *stage) runExpose(c *instructions.ExposeCommand) error {
	cfg := &s.img.Config.Config
	var ports []string
	for _, p := range c.Ports {
		words, err := s.lex.ProcessWords(p, shell.EnvsFromSlice(s.env))
		if err != nil {
			return s.errorf(c.Location(), "EXPOSE %s: %w", p, err)
		}
		for _, w := range words {
			ps, err := parsePortSpec(w)
			if err != nil {
				return s.errorf(c.Location(), "EXPOSE: %w", err)
			}
			ports = append(ports, ps...)
		}
	}
	if cfg.ExposedPorts == nil {
		cfg.ExposedPorts = map[string]struct{}{}
	} else {
		cfg.ExposedPorts = maps.Clone(cfg.ExposedPorts)
	}
	for _, p := range ports {
		cfg.ExposedPorts[p] = struct{}{}
	}
	s.history(fmt.Sprintf("EXPOSE %v", ports), false, false)
	return nil
}

func parsePortSpec(spec string) ([]string, error) {
	raw, proto, _ := strings.Cut(spec, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	if i := strings.LastIndex(raw, ":"); i >= 0 {
		raw = raw[i+1:]
	}
	lo, hi, isRange := strings.Cut(raw, "-")
	start, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("invalid containerPort: %s", raw)
	}
	end := start
	if isRange {
		if end, err = strconv.ParseUint(hi, 10, 16); err != nil || end < start {
			return nil, fmt.Errorf("invalid containerPort: %s", raw)
		}
	}
	var out []string
	for p := start; p <= end; p++ {
		out = append(out, fmt.Sprintf("%d/%s", p, proto))
	}
	return out, nil
}

// applyLabels adds --label values to the target image.
func (s *stage) applyLabels(labels map[string]string) {
	if len(labels) == 0 {
		return
	}
	cfg := &s.img.Config.Config
	cfg.Labels = maps.Clone(cfg.Labels)
	if cfg.Labels == nil {
		cfg.Labels = map[string]string{}
	}
	maps.Copy(cfg.Labels, labels)
}
