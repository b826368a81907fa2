package plan

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-build/kiln/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// SOURCE_DATE_EPOCH, as BuildKit's Dockerfile frontend reads it: the
// --build-arg, else a non-empty global ARG default. A number of seconds is
// the epoch. Any other value names where the epoch comes from, and the
// solver resolves it before the build (EpochSource, then SetEpoch):
//
//   - "context", or the name of a named build context: the build
//     context's time, which a local directory or an image does not have
//     (the epoch is then unset);
//   - the name of a source-only stage — FROM scratch, ARGs, and exactly one
//     ADD of one HTTP(S) or git source: the download's Last-Modified, else
//     the newest regular file in it if it is an archive; the commit time
//     of a git source.
//
// Anything else is an error.

// epochArg is the build arg and global ARG name.
const epochArg = "SOURCE_DATE_EPOCH"

// EpochSource is a SOURCE_DATE_EPOCH that names where the epoch comes from.
type EpochSource struct {
	// Value is SOURCE_DATE_EPOCH as given.
	Value string
	// Stage is the source-only stage Value names; nil for the build
	// context or a named context.
	Stage *Stage
	// URL is the stage's ADD source, expanded: an HTTP(S) URL or a git
	// reference (the solver refuses anything else).
	URL string
	// Checksum is the stage's ADD --checksum, expanded.
	Checksum string
}

// epochValue is SOURCE_DATE_EPOCH as BuildKit reads it.
func (p *Plan) epochValue() (string, bool) {
	if v, ok := p.BuildArgs[epochArg]; ok {
		return v, true
	}
	v, ok := p.Global[epochArg]
	return v, ok && v != ""
}

// Epoch is SOURCE_DATE_EPOCH when it is a number of seconds (given, or
// resolved by SetEpoch): every history entry the build adds takes that time.
func (p *Plan) Epoch() (time.Time, bool) {
	v, ok := p.epochValue()
	if !ok || v == "" {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// EpochSource is where SOURCE_DATE_EPOCH says the epoch comes from; nil
// when it is unset or a number.
func (p *Plan) EpochSource() *EpochSource {
	return p.epochSource
}

// SetEpoch replaces SOURCE_DATE_EPOCH by the resolved epoch t, or removes
// it when t is nil, in the build args and the global ARGs, as BuildKit's
// frontend does before the stages run.
func (p *Plan) SetEpoch(t *time.Time) {
	p.epochSource = nil
	if _, ok := p.BuildArgs[epochArg]; ok {
		p.BuildArgs = maps.Clone(p.BuildArgs) // shared with the other platforms' plans
		if t == nil {
			delete(p.BuildArgs, epochArg)
		} else {
			p.BuildArgs[epochArg] = strconv.FormatInt(t.Unix(), 10)
		}
	}
	if _, ok := p.Global[epochArg]; ok {
		if t == nil {
			delete(p.Global, epochArg)
		} else {
			p.Global[epochArg] = strconv.FormatInt(t.Unix(), 10)
		}
	}
}

// planEpoch checks SOURCE_DATE_EPOCH and, when it names a source, finds it.
func (p *Plan) planEpoch() error {
	v, ok := p.epochValue()
	if !ok || v == "" {
		return nil
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return nil
	}
	if _, named := p.context(v); named || v == "context" {
		p.epochSource = &EpochSource{Value: v}
		return nil
	}
	for _, st := range p.Stages {
		if !strings.EqualFold(st.Inst.Name, v) {
			continue
		}
		src, err := p.epochStage(st)
		if err != nil {
			return p.errorf(st.Inst.Location, "%v", err)
		}
		src.Value = v
		p.epochSource = src
		return nil
	}
	return fmt.Errorf("invalid SOURCE_DATE_EPOCH: %s", v)
}

// epochStage checks that st is a source-only stage, with BuildKit's
// messages, and returns its ADD source.
func (p *Plan) epochStage(st *Stage) (*EpochSource, error) {
	env := map[string]string{}
	maps.Copy(env, p.Global)
	delete(env, epochArg)
	lex := dockerfile.NewLex(p.File.EscapeToken)
	word := func(w string) (string, error) {
		res, err := lex.ProcessWordWithMatches(w, shell.EnvsFromSlice(envList(env)))
		return res.Result, err
	}
	base, err := word(st.Inst.BaseName)
	if err != nil {
		return nil, fmt.Errorf("failed to process source stage base name %q: %w", st.Inst.BaseName, err)
	}
	if base != "scratch" {
		return nil, errors.New("SOURCE_DATE_EPOCH stage must use FROM scratch")
	}
	var src *EpochSource
	for _, cmd := range st.Inst.Commands {
		switch c := cmd.(type) {
		case *instructions.ArgCommand:
			for _, kv := range c.Args {
				if v, ok := p.BuildArgs[kv.Key]; ok {
					env[kv.Key] = v
				} else if kv.Value != nil {
					if env[kv.Key], err = word(*kv.Value); err != nil {
						return nil, err
					}
				}
			}
		case *instructions.AddCommand:
			if src != nil {
				return nil, errors.New("SOURCE_DATE_EPOCH stage must contain exactly one remote ADD")
			}
			if len(c.SourceContents) != 0 || len(c.SourcePaths) != 1 {
				return nil, errors.New("SOURCE_DATE_EPOCH stage must contain exactly one remote ADD source")
			}
			src = &EpochSource{Stage: st}
			if src.URL, err = word(c.SourcePaths[0]); err != nil {
				return nil, err
			}
			if src.Checksum, err = word(c.Checksum); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("SOURCE_DATE_EPOCH stage does not meet source-only requirements: unsupported %s instruction",
				strings.ToUpper(cmd.Name()))
		}
	}
	if src == nil {
		return nil, errors.New("SOURCE_DATE_EPOCH stage must contain exactly one remote ADD")
	}
	return src, nil
}

// envList is env as KEY=VALUE pairs.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}
