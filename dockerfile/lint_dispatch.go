package dockerfile

// The checks of each instruction, with the variables it sees
// (dockerfile2llb's dispatch).

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/util/suggest"
	"github.com/moby/buildkit/util/system"
)

// nonEnvArgs are build args BuildKit reads itself; using them undeclared is fine.
var nonEnvArgs = map[string]bool{"BUILDKIT_SBOM_SCAN_CONTEXT": true, "BUILDKIT_SBOM_SCAN_STAGE": true}

// dispatchStages checks the instructions of each stage, in Dockerfile order.
func (c *checker) dispatchStages(reachable map[*stageState]bool) error {
	for _, d := range c.states {
		if !c.allStages && (!reachable[d] || d.dispatched) {
			continue
		}
		d.init()
		d.dispatched = true
		if d.platform == nil {
			p := c.target
			d.platform = &p
		}
		if !envHas(d.image.Config.Env, "PATH") && d.platform.OS != "windows" {
			d.image.Config.Env = append(d.image.Config.Env, "PATH="+system.DefaultPathEnv(d.platform.OS))
		}
		if d.env == nil {
			d.env = newLintEnv()
		}
		for _, kv := range d.image.Config.Env {
			k, v, _ := strings.Cut(kv, "=")
			d.env.set(k, v)
		}
		if wd := d.image.Config.WorkingDir; wd != "" {
			if err := setWorkdir(d, wd); err != nil {
				return c.errAt(d.stage.Location, err)
			}
		}
		for _, cmd := range d.commands {
			if err := c.dispatch(d, cmd); err != nil {
				return c.errAt(cmd.Location(), err)
			}
		}
	}
	return nil
}

func (c *checker) dispatch(d *stageState, cmd lintCommand) error {
	lint := c.lint.WithMergedConfigFromComments(cmd.Comments())
	if err := c.expand(d, cmd, lint); err != nil {
		return err
	}
	switch ic := cmd.Command.(type) {
	case *instructions.EnvCommand:
		dispatchEnv(d, ic, lint)
	case *instructions.LabelCommand:
		for _, l := range ic.Labels {
			checkLegacyFormat(ic, l, lint)
		}
	case *instructions.RunCommand:
		return checkRunMounts(d, ic, cmd.sources)
	case *instructions.WorkdirCommand:
		if !d.workdir && !system.IsAbs(ic.Path, d.platform.OS) {
			lint.Run(&linter.RuleWorkdirRelativePath, ic.Location(), linter.RuleWorkdirRelativePath.Format(ic.Path))
		}
		d.workdir = true
		return setWorkdir(d, ic.Path)
	case *instructions.CmdCommand:
		usedOnce(ic, &d.cmd, lint)
		c.checkShellForm(d, ic, ic.PrependShell, lint)
	case *instructions.EntrypointCommand:
		usedOnce(ic, &d.entry, lint)
		c.checkShellForm(d, ic, ic.PrependShell, lint)
	case *instructions.HealthCheckCommand:
		usedOnce(ic, &d.health, lint)
	case *instructions.ExposeCommand:
		return c.checkExpose(d, ic, lint)
	case *instructions.VolumeCommand:
		for _, v := range ic.Volumes {
			if v == "" {
				return errors.New("VOLUME specified can not be an empty string")
			}
		}
	case *instructions.StopSignalCommand:
		return checkStopSignal(ic.Signal)
	case *instructions.ShellCommand:
		d.image.Config.Shell = ic.Shell
	case *instructions.OnbuildCommand:
		d.image.Config.OnBuild = append(d.image.Config.OnBuild, ic.Expression)
	case *instructions.ArgCommand:
		return c.dispatchArg(d, ic, lint)
	case *instructions.AddCommand:
		return c.checkCopy(copyCheck{add: true, cmd: ic, params: ic.SourcesAndDest,
			chown: ic.Chown, chmod: ic.Chmod, link: ic.Link, checksum: ic.Checksum}, c.opts.ignore != nil, lint)
	case *instructions.CopyCommand:
		if len(cmd.sources) > 0 && !cmd.sources[0].dispatched {
			return fmt.Errorf("cannot copy from stage %q, it needs to be defined before current stage %q", ic.From, d.name)
		}
		return c.checkCopy(copyCheck{cmd: ic, params: ic.SourcesAndDest,
			chown: ic.Chown, chmod: ic.Chmod, link: ic.Link}, len(cmd.sources) == 0, lint)
	}
	return nil
}

// setWorkdir changes the stage's working directory (which relative RUN
// --mount targets are in).
func setWorkdir(d *stageState, dir string) error {
	wd, err := system.NormalizeWorkdir(d.image.Config.WorkingDir, dir, d.platform.OS)
	if err != nil {
		return fmt.Errorf("normalizing workdir: %w", err)
	}
	d.image.Config.WorkingDir = wd
	return nil
}

// dispatchEnv sets a stage's ENV: LegacyKeyValueFormat,
// SecretsUsedInArgOrEnv.
func dispatchEnv(d *stageState, ic *instructions.EnvCommand, lint *linter.Linter) {
	for _, e := range ic.Env {
		checkLegacyFormat(ic, e, lint)
		checkSecretKey("ENV", e.Key, ic.Location(), lint)
		d.env.set(e.Key, e.Value)
		d.image.Config.Env = addImageEnv(d.image.Config.Env, e.Key, e.Value)
	}
}

// checkLegacyFormat: LegacyKeyValueFormat for "ENV key value".
func checkLegacyFormat(ic instructions.Command, kv instructions.KeyValuePair, lint *linter.Linter) {
	if kv.NoDelim {
		lint.Run(&linter.RuleLegacyKeyValueFormat, ic.Location(), linter.RuleLegacyKeyValueFormat.Format(ic.Name()))
	}
}

// expand expands the instruction's variables as BuildKit does before
// running it: UndefinedVar for those neither set nor declared by an ARG.
func (c *checker) expand(d *stageState, cmd lintCommand, lint *linter.Linter) error {
	if ex, ok := cmd.Command.(instructions.SupportsSingleWordExpansion); ok {
		if _, isArg := cmd.Command.(*instructions.ArgCommand); !isArg {
			err := ex.Expand(func(word string) (string, error) {
				w, unmatched, err := c.shlex.ProcessWord(word, d.env)
				c.checkUnmatched(d, cmd, unmatched, lint)
				return w, err
			})
			if err != nil {
				return err
			}
		}
	}
	if ex, ok := cmd.Command.(instructions.SupportsSingleWordExpansionRaw); ok {
		lex := NewLex('\\')
		lex.SkipProcessQuotes = true
		return ex.ExpandRaw(func(word string) (string, error) {
			w, unmatched, err := lex.ProcessWord(word, d.env)
			c.checkUnmatched(d, cmd, unmatched, lint)
			return w, err
		})
	}
	return nil
}

// checkUnmatched: UndefinedVar. A stage on an image whose config is
// unknown is not checked: its ENV could define anything.
func (c *checker) checkUnmatched(d *stageState, cmd instructions.Command, unmatched map[string]struct{}, lint *linter.Linter) {
	for _, a := range d.args {
		delete(unmatched, a.Key)
	}
	if len(unmatched) == 0 || !d.known {
		return
	}
	for _, v := range sortedKeys(unmatched) {
		if nonEnvArgs[v] {
			continue
		}
		match, _ := suggest.Search(v, d.env.Keys(), true)
		lint.Run(&linter.RuleUndefinedVar, cmd.Location(), linter.RuleUndefinedVar.Format(v, match))
	}
}

// dispatchArg declares a stage's ARGs: SecretsUsedInArgOrEnv, and
// UndefinedVar in their defaults.
func (c *checker) dispatchArg(d *stageState, ic *instructions.ArgCommand, lint *linter.Linter) error {
	for _, arg := range ic.Args {
		checkSecretKey("ARG", arg.Key, ic.Location(), lint)
		v, hasValue := c.opts.buildArgs[arg.Key]
		if arg.Value == nil && !hasValue {
			if g, ok := c.globalArgs.Get(arg.Key); ok {
				arg.Value = &g
			}
		} else if hasValue {
			arg.Value = &v
		} else {
			w, unmatched, err := c.shlex.ProcessWord(*arg.Value, d.env)
			c.checkUnmatched(d, ic, unmatched, lint)
			if err != nil {
				return err
			}
			arg.Value = &w
		}
		if arg.Value != nil && !nonEnvArgs[arg.Key] {
			d.env.set(arg.Key, *arg.Value)
		}
		d.args = append(d.args, arg)
	}
	return nil
}

// checkShellForm: JSONArgsRecommended for CMD and ENTRYPOINT in shell form,
// unless a SHELL instruction (or the base image) set the shell.
func (c *checker) checkShellForm(d *stageState, ic instructions.Command, shellForm bool, lint *linter.Linter) {
	if shellForm && len(d.image.Config.Shell) == 0 {
		lint.Run(&linter.RuleJSONArgsRecommended, ic.Location(), linter.RuleJSONArgsRecommended.Format(ic.Name()))
	}
}

// usedOnce: MultipleInstructionsDisallowed, at the earlier instruction (the
// one that has no effect).
func usedOnce(ic instructions.Command, prev *[]parser.Range, lint *linter.Linter) {
	if *prev != nil {
		lint.Run(&linter.RuleMultipleInstructionsDisallowed, *prev, linter.RuleMultipleInstructionsDisallowed.Format(ic.Name()))
	}
	*prev = ic.Location()
	if *prev == nil {
		*prev = []parser.Range{}
	}
}

// checkRunMounts fails on the RUN --mount options BuildKit refuses: a
// stage defined later, a target that is the root, a secret without an id.
func checkRunMounts(d *stageState, ic *instructions.RunCommand, sources []*stageState) error {
	for i, m := range instructions.GetMounts(ic) {
		from := m.From
		if from == "" && m.Type == instructions.MountTypeCache {
			from = "scratch"
		}
		if from != "" && i < len(sources) && !sources[i].dispatched {
			return fmt.Errorf("cannot mount from stage %q to %q, stage needs to be defined before current command", from, m.Target)
		}
		switch m.Type {
		case instructions.MountTypeSecret:
			if m.CacheID == "" && m.Source == "" && m.Target == "" {
				return errors.New("one of source, target required")
			}
			continue
		case instructions.MountTypeSSH:
			if m.Source != "" {
				return errors.New("ssh does not support source")
			}
			continue
		}
		target := m.Target
		if !path.IsAbs(path.Clean(target)) {
			target = path.Join("/", d.image.Config.WorkingDir, target)
		}
		if target == "/" {
			return fmt.Errorf("invalid mount target %q", target)
		}
	}
	return nil
}

var (
	secretRe      = regexp.MustCompile(`(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)`)
	secretAllowRe = regexp.MustCompile(`(?i)(?:_|^)(?:public|file|version)(?:_|$)`)
)

// checkSecretKey: SecretsUsedInArgOrEnv for names that look like secrets.
func checkSecretKey(instruction, key string, loc []parser.Range, lint *linter.Linter) {
	if secretRe.MatchString(key) && !secretAllowRe.MatchString(key) {
		lint.Run(&linter.RuleSecretsUsedInArgOrEnv, loc, linter.RuleSecretsUsedInArgOrEnv.Format(instruction, key))
	}
}
