package solver

import (
	"context"
	"errors"
	"fmt"

	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/plan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// scheduler runs every stage the target needs in its own goroutine; a
// stage waits for the stages it uses, and CPU-heavy work (RUN, COPY) takes
// one of a bounded number of job slots. The first failure cancels the rest.
type scheduler struct {
	plan    *plan.Plan
	jobs    chan struct{}
	results map[*plan.Stage]*stageResult
}

// stageResult is a stage's outcome, filled in before done is closed.
type stageResult struct {
	done chan struct{}
	img  *image.Image
	err  error
	// the stage's final env, ARGs and cache key, inherited by FROM <stage>
	env   []string
	args  []instructions.KeyValuePairOptional
	key   string
	stats StageStats
}

// newScheduler schedules p's stages; jobs are the job slots, shared by the
// platforms of a multi-platform build.
func newScheduler(p *plan.Plan, jobs chan struct{}) *scheduler {
	s := &scheduler{plan: p, jobs: jobs, results: map[*plan.Stage]*stageResult{}}
	for _, st := range p.Order {
		s.results[st] = &stageResult{done: make(chan struct{})}
	}
	return s
}

// run runs every stage with fn and returns the target's image.
func (s *scheduler) run(ctx context.Context, fn func(context.Context, *plan.Stage) (*image.Image, error)) (*image.Image, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	for _, st := range s.plan.Order {
		go func(st *plan.Stage) {
			r := s.results[st]
			defer close(r.done)
			r.img, r.err = fn(ctx, st)
			if r.err != nil {
				cancel(r.err)
			}
		}(st)
	}
	var first error
	for _, st := range s.plan.Order {
		r := s.results[st]
		<-r.done
		if r.err != nil && (first == nil || errors.Is(first, context.Canceled)) && !cancelledBySibling(r.err, ctx) {
			first = r.err
		}
	}
	if first == nil {
		if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
			first = err
		} else if ctx.Err() != nil {
			first = ctx.Err()
		}
	}
	if first != nil {
		return nil, first
	}
	return s.results[s.plan.Target].img, nil
}

// cancelledBySibling reports an error that only says another stage's
// failure cancelled this one.
func cancelledBySibling(err error, ctx context.Context) bool {
	return errors.Is(err, context.Canceled) && context.Cause(ctx) != nil && !errors.Is(context.Cause(ctx), context.Canceled)
}

// wait returns the result of a stage the caller depends on.
func (s *scheduler) wait(ctx context.Context, st *plan.Stage) (*stageResult, error) {
	r, ok := s.results[st]
	if !ok {
		return nil, fmt.Errorf("internal error: stage %s was not scheduled", st.Ref())
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, fmt.Errorf("stage %s failed", st.Ref())
	}
	return r, nil
}

// acquire takes a job slot for CPU-heavy work; the func gives it back.
func (s *scheduler) acquire(ctx context.Context) (func(), error) {
	select {
	case s.jobs <- struct{}{}:
		return func() { <-s.jobs }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
