package plan

import (
	"sort"

	"github.com/kiln-build/kiln/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// resolveGlobals evaluates the ARGs before the first FROM in order: each
// default may use earlier ones, and a --build-arg overrides it.
func (p *Plan) resolveGlobals() error {
	p.Global = AutoArgs(p.Platform, p.BuildPlatform)
	lex := dockerfile.NewLex(p.File.EscapeToken)
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

// AutoArgs are the platform ARGs BuildKit defines for every build: the
// TARGET* ones for the target platform, BUILD* for the host's.
func AutoArgs(target, build ocispecs.Platform) map[string]string {
	m := map[string]string{"TARGETSTAGE": "default"}
	for pre, p := range map[string]ocispecs.Platform{"BUILD": build, "TARGET": target} {
		m[pre+"PLATFORM"] = dockerfile.FormatPlatform(p)
		m[pre+"OS"] = p.OS
		m[pre+"ARCH"] = p.Architecture
		m[pre+"VARIANT"] = p.Variant
	}
	return m
}

// ProxyArgs are the predefined ARGs that need no declaration (docker's list).
var ProxyArgs = []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
	"FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"}

// ProxyEnv is the proxy build args given to this build, as KEY=VALUE: RUN
// steps see them without an ARG declaration (and they stay out of history
// and cache keys, as in BuildKit).
//
// As BuildKit's proxy env, a proxy given in either case is set in both
// (http_proxy=X gives HTTP_PROXY=X and http_proxy=X).
func (p *Plan) ProxyEnv() []string {
	var out []string
	for i := 0; i < len(ProxyArgs); i += 2 {
		upper, lower := ProxyArgs[i], ProxyArgs[i+1]
		v, ok := p.BuildArgs[upper]
		if !ok {
			v, ok = p.BuildArgs[lower]
		}
		if ok {
			out = append(out, upper+"="+v, lower+"="+v)
		}
	}
	return out
}

// BuildArg is the --build-arg value of key, if one was given.
func (p *Plan) BuildArg(key string) (string, bool) {
	v, ok := p.BuildArgs[key]
	return v, ok
}
