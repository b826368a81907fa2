package plan

import (
	"sort"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// resolveGlobals evaluates the ARGs before the first FROM in order: each
// default may use earlier ones, and a --build-arg overrides it.
func (p *Plan) resolveGlobals() error {
	p.Global = AutoArgs()
	lex := shell.NewLex(p.File.EscapeToken)
	for _, a := range p.File.MetaArgs {
		for _, kv := range a.Args {
			if v, ok := p.BuildArgs[kv.Key]; ok {
				p.Global[kv.Key] = v
				continue
			}
			if kv.Value == nil {
				continue // no default and no --build-arg: not defined
			}
			res, err := lex.ProcessWordWithMatches(*kv.Value, shell.EnvsFromSlice(p.globalEnv()))
			if err != nil {
				return p.errorf(a.Location(), "ARG %s: %v", kv.Key, err)
			}
			p.Global[kv.Key] = res.Result
		}
	}
	return nil
}

func (p *Plan) globalEnv() []string {
	keys := make([]string, 0, len(p.Global))
	for k := range p.Global {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+p.Global[k])
	}
	return env
}

// AutoArgs are the platform ARGs BuildKit defines for every build.
func AutoArgs() map[string]string {
	os, arch, variant := Platform()
	plat := os + "/" + arch
	if variant != "" {
		plat += "/" + variant
	}
	m := map[string]string{"TARGETSTAGE": "default"}
	for _, pre := range []string{"BUILD", "TARGET"} {
		m[pre+"PLATFORM"] = plat
		m[pre+"OS"] = os
		m[pre+"ARCH"] = arch
		m[pre+"VARIANT"] = variant
	}
	return m
}

// ProxyArgs are the predefined ARGs that need no declaration (docker's list).
var ProxyArgs = []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
	"FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}
