package dockerfile

// Base images and ONBUILD triggers in a check (dockerfile2llb's
// resolveStages and resolveBaseImage).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// resolveStages resolves the base images and adds the ONBUILD triggers of
// the stages the target needs, until the triggers add no stage.
func (c *checker) resolveStages(ctx context.Context, target *stageState) (map[*stageState]bool, error) {
	for {
		reachable, err := c.resolveBases(ctx, target)
		if err != nil {
			return nil, err
		}
		newDeps := false
		for _, d := range c.states {
			if !reachable[d] {
				continue
			}
			d.init()
			triggers := slices.Clone(d.image.Config.OnBuild)
			if d.base != nil && !d.onBuildInit {
				for _, cmd := range d.base.commands {
					if ob, ok := cmd.Command.(*instructions.OnbuildCommand); ok {
						triggers = append(triggers, ob.Expression)
					}
				}
				d.onBuildInit = true
			}
			if len(triggers) > 0 {
				added, err := c.addTriggers(d, triggers)
				if err != nil {
					return nil, c.errAt(d.stage.Location, err)
				}
				newDeps = newDeps || added
				d.image.Config.OnBuild = nil
			}
		}
		if !newDeps {
			return reachable, nil
		}
	}
}

// addTriggers puts ONBUILD triggers in front of d's instructions, located at
// its FROM. It reports whether they read from new stages.
func (c *checker) addTriggers(d *stageState, triggers []string) (bool, error) {
	var cmds []lintCommand
	added := false
	start, end := lineSpan(d.stage.Location)
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t))
		if err != nil {
			return false, err
		}
		if len(res.AST.Children) != 1 {
			return false, errors.New("onbuild trigger should be a single expression")
		}
		n := res.AST.Children[0]
		n.StartLine, n.EndLine = start, end
		ic, err := instructions.ParseCommand(n)
		if err != nil {
			return false, err
		}
		cmd, err := c.toCommand(ic)
		if err != nil {
			return false, err
		}
		added = added || len(cmd.sources) > 0
		cmds = append(cmds, cmd)
		c.addDeps(d, cmd)
	}
	d.commands = append(cmds, d.commands...)
	return added, nil
}

// resolveBases reads the config of the images stages start from.
func (c *checker) resolveBases(ctx context.Context, target *stageState) (map[*stageState]bool, error) {
	reachable := reachableFrom(target, nil)
	for _, d := range c.states {
		if d.base != nil || d.dispatched || d.resolved {
			continue
		}
		need := reachable[d] || c.allStages
		d.resolved = need
		if d.stage.BaseName == "scratch" {
			d.image = emptyImage(c.target)
			p := c.target
			d.platform, d.known = &p, true
			if d.unregistered {
				d.dispatched = true
			}
			continue
		}
		if err := c.resolveBase(ctx, d, need); err != nil {
			return nil, err
		}
	}
	return reachable, nil
}

// resolveBase reads d's base image config when the check needs it:
// InvalidBaseImagePlatform.
func (c *checker) resolveBase(ctx context.Context, d *stageState, need bool) error {
	if d.unregistered {
		defer func() { d.dispatched = true }()
	}
	name := d.stage.BaseName
	if err := validateImageRef(name); err != nil {
		return c.errAt(d.stage.Location, fmt.Errorf("failed to parse stage name %q: %w", name, err))
	}
	platform := c.target
	if d.platform != nil {
		platform = *d.platform
	}
	defer func() { d.platform = &platform }()
	if !need || c.opts.baseImage == nil {
		return nil
	}
	img, err := c.opts.baseImage(ctx, name, platform)
	if err != nil {
		return c.errAt(d.stage.Location, fmt.Errorf("%s: %w", name, err))
	}
	if img == nil {
		return nil
	}
	d.image, d.known = cloneImage(*img), true
	if !isEmptyImage(img) {
		actual := img.Platform
		if platform.OS != actual.OS || platform.Architecture != actual.Architecture {
			msg := linter.RuleInvalidBaseImagePlatform.Format(name,
				formatPlatformAll(normalizePlatform(platform)), formatPlatformAll(normalizePlatform(actual)))
			c.lint.Run(&linter.RuleInvalidBaseImagePlatform, d.stage.Location, msg)
		}
	}
	return nil
}

// isEmptyImage: an image without layers, which BuildKit builds on as scratch.
func isEmptyImage(img *dockerspec.DockerOCIImage) bool {
	if len(img.RootFS.DiffIDs) > 0 {
		return false
	}
	for _, h := range img.History {
		if !h.EmptyLayer {
			return false
		}
	}
	return true
}
