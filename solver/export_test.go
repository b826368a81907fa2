package solver

import (
	"github.com/kiln-build/kiln/source"
)

// Test seams for the external test package.
var (
	WithSources = func(opts ...source.Option) Option { return withSources(opts...) }
)
