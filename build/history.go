package build

import (
	"strconv"
	"time"

	"github.com/kiln-build/kiln/dockerfile"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// historyComment is what BuildKit writes in each history entry it adds.
const historyComment = "buildkit.dockerfile.v0"

// history records an instruction in the image history. withLayer says the
// instruction made a layer; buildkitSuffix marks RUN/COPY/ADD, which BuildKit
// suffixes with " # buildkit".
func (s *stage) history(msg string, withLayer, buildkitSuffix bool) {
	if buildkitSuffix {
		msg += " # buildkit"
	}
	t := s.b.created()
	s.img.Config.History = append(s.img.Config.History, ocispec.History{
		Created:    &t,
		CreatedBy:  msg,
		Comment:    historyComment,
		EmptyLayer: !withLayer,
	})
}

// created is the time stamped on history entries: SOURCE_DATE_EPOCH when
// given as a build arg, else now.
func (b *builder) created() time.Time {
	if v, ok := b.opts.BuildArgs["SOURCE_DATE_EPOCH"]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Now().UTC()
}

func lineError(file string, loc any, format string, args ...any) error {
	l, _ := loc.([]parser.Range)
	return dockerfile.Errorf(file, l, format, args...)
}
