package explain

import "strings"

// Stage kinds.
const (
	KindStage     = "stage"
	KindBaseImage = "base-image"
	KindImage     = "image"
)

// attribute counts every layer's bytes for exactly one origin: the stage
// a COPY --from copied it from, else the stage that made it, else the
// base image it came with. Stages list what each built and shipped.
func (a *analysis) attribute() {
	rep := a.rep
	rep.Bytes = 0
	for i := range rep.Layers {
		rep.Bytes += rep.Layers[i].Bytes
	}
	if a.rec == nil {
		return
	}
	index := make(map[string]int) // origin → rep.Stages
	for _, s := range a.rec.Stages {
		index[strings.ToLower(s.Name)] = len(rep.Stages)
		rep.Stages = append(rep.Stages, Stage{Name: s.Name, Kind: KindStage, Base: s.Base, Steps: s.Steps,
			Built: s.Bytes, Target: s.Name == a.rec.Target, Layers: []int{}})
	}
	var targetOwn int64
	for i := range rep.Layers {
		L := &rep.Layers[i]
		name, kind := a.origin(L)
		L.Origin = name
		if L.Stage == a.rec.Target && L.FromStage == "" && L.BaseImage == "" {
			targetOwn += L.Bytes
		}
		j, ok := index[strings.ToLower(name)]
		if !ok {
			j = len(rep.Stages)
			index[strings.ToLower(name)] = j
			rep.Stages = append(rep.Stages, Stage{Name: name, Kind: kind, Layers: []int{}})
		}
		s := &rep.Stages[j]
		s.Shipped += L.Bytes
		s.Layers = append(s.Layers, i)
		if s.Kind != KindStage {
			s.Built = s.Shipped
		}
	}
	for i := range rep.Stages {
		if rep.Stages[i].Target {
			rep.Stages[i].Built = targetOwn
		}
	}
}

// origin names what layer L's bytes are counted for, and its kind.
func (a *analysis) origin(L *Layer) (string, string) {
	switch {
	case L.FromStage != "":
		if a.stage(L.FromStage) != nil {
			return L.FromStage, KindStage
		}
		return L.FromStage, KindImage
	case L.Stage != "":
		return L.Stage, KindStage
	case L.BaseImage != "":
		return L.BaseImage, KindBaseImage
	}
	return "(unknown)", KindImage
}

// stage returns the record's stage called name (stage names are not
// case-sensitive), or nil.
func (a *analysis) stage(name string) *stageInfo {
	if a.rec == nil {
		return nil
	}
	for i := range a.rec.Stages {
		if strings.EqualFold(a.rec.Stages[i].Name, name) {
			s := a.rec.Stages[i]
			return &stageInfo{Name: s.Name, Base: s.Base, Line: a.lines[s.Name]}
		}
	}
	return nil
}

type stageInfo struct {
	Name, Base string
	Line       int // its FROM line, 0 when the record does not say
}

// chain lists the target stage and the stages it is built FROM, target
// first; the last one's Base is the image the final image starts from.
func (a *analysis) chain() []*stageInfo {
	var out []*stageInfo
	s := a.stage(a.rec.Target)
	for s != nil && len(out) <= len(a.rec.Stages) {
		out = append(out, s)
		s = a.stage(s.Base)
	}
	return out
}

// multiStage reports whether a stage outside the target's FROM chain
// ran: a builder stage whose files only COPY --from should take.
func (a *analysis) multiStage() bool {
	if a.rec == nil {
		return false
	}
	in := make(map[string]bool)
	for _, s := range a.chain() {
		in[strings.ToLower(s.Name)] = true
	}
	for _, s := range a.rec.Stages {
		if !in[strings.ToLower(s.Name)] {
			return true
		}
	}
	return false
}

// copiedFrom returns the stage or image layer i was copied from with
// COPY --from, if it was.
func (a *analysis) copiedFrom(i int) (string, bool) {
	L := a.rep.Layers[i]
	return L.FromStage, a.rec != nil && L.FromStage != "" && L.BaseImage == ""
}

// inherited lists the layers the target stage got with its FROM: the
// base image's, and those of the stages it is built on.
func (a *analysis) inherited() []int {
	var out []int
	for i, L := range a.rep.Layers {
		if L.BaseImage != "" || L.FromStage == "" && L.Stage != "" && !strings.EqualFold(L.Stage, a.rec.Target) {
			out = append(out, i)
		}
	}
	return out
}
