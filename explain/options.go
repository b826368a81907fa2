package explain

import (
	"fmt"
	"runtime"
	"strings"
)

// Option configures Analyze and Check.
type Option func(*options) error

type options struct {
	topPaths int
	jobs     int
	cache    bool
	skip     map[string]bool
	platform string
	scan     scanFunc // test seam: how a layer is read
}

// WithTopPaths sets how many of each layer's largest paths a report
// lists (default 5, at most 20).
func WithTopPaths(n int) Option {
	return func(o *options) error {
		if n < 0 || n > scanTopPaths {
			return fmt.Errorf("explain: top paths %d: want 0 to %d", n, scanTopPaths)
		}
		o.topPaths = n
		return nil
	}
}

// WithJobs sets how many layers are read at once (default: CPUs).
func WithJobs(n int) Option {
	return func(o *options) error {
		if n < 1 {
			return fmt.Errorf("explain: jobs %d: want at least 1", n)
		}
		o.jobs = n
		return nil
	}
}

// WithoutLayerCache reads every layer again instead of using, and
// keeping, what earlier reads found (the store's "explain-v1" records).
func WithoutLayerCache() Option {
	return func(o *options) error {
		o.cache = false
		return nil
	}
}

// WithSkipRules turns the leak rules with these IDs off (see Rules).
func WithSkipRules(ids ...string) Option {
	return func(o *options) error {
		for _, id := range ids {
			if _, ok := ruleByID(id); !ok {
				return fmt.Errorf("%w: %q", ErrUnknownRule, id)
			}
			o.skip[id] = true
		}
		return nil
	}
}

// WithPlatform picks the image of an index (a multi-platform image)
// that AnalyzeDigest explains: "linux/arm64", "linux/arm/v7". The default
// is this machine's platform, else the index's first.
func WithPlatform(p string) Option {
	return func(o *options) error {
		if n := strings.Count(p, "/"); n < 1 || n > 2 {
			return fmt.Errorf("explain: platform %q: want os/arch[/variant]", p)
		}
		o.platform = p
		return nil
	}
}

// withScan replaces how a layer is read (tests count reads with it).
func withScan(f scanFunc) Option {
	return func(o *options) error {
		o.scan = f
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{topPaths: 5, jobs: runtime.GOMAXPROCS(0), cache: true, skip: make(map[string]bool)}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.scan == nil {
		o.scan = scanBlob
	}
	return o, nil
}
