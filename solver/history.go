package solver

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
	// a layer's entry carries the time its step first ran (so a cached
	// rebuild gives the same image); config-only entries get theirs at
	// export, from their neighbours, as BuildKit's exporter does
	var created *time.Time
	if epoch, ok := s.b.epoch(); ok {
		created = &epoch // every entry this build adds, as BuildKit clamps them
	} else if withLayer && len(s.img.Layers) > 0 {
		t := s.img.Layers[len(s.img.Layers)-1].Created
		created = &t
	}
	s.img.Config.History = append(s.img.Config.History, ocispec.History{
		Created:    created,
		CreatedBy:  msg,
		Comment:    historyComment,
		EmptyLayer: !withLayer,
	})
}

// epoch is SOURCE_DATE_EPOCH, when given as a build arg.
func (b *builder) epoch() (time.Time, bool) {
	if v, ok := b.opts.BuildArgs["SOURCE_DATE_EPOCH"]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(n, 0).UTC(), true
		}
	}
	return time.Time{}, false
}

func lineError(file string, loc any, format string, args ...any) error {
	l, _ := loc.([]parser.Range)
	return dockerfile.Errorf(file, l, format, args...)
}
