package solver

import (
	"time"

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
	if s.epoch != nil {
		created = s.epoch // every entry this build adds, as BuildKit clamps them
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
