package solver

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/kiln-build/kiln/image"
	"github.com/kiln-build/kiln/plan"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// scheduler runs every stage the target needs in its own goroutine; a
// stage waits for the stages it uses, and CPU-heavy work (RUN, COPY) takes
// one of a bounded number of job slots. The first failure cancels the rest.
// A stage that only an ONBUILD trigger names (the plan cannot see it) is
// started when a stage first waits for it.
type scheduler struct {
	plan    *plan.Plan
	jobs    chan struct{}
	mu      sync.Mutex
	results map[*plan.Stage]*stageResult
	fn      func(context.Context, *plan.Stage) (*image.Image, error)
	ctx     context.Context
	cancel  context.CancelCauseFunc
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
	return &scheduler{plan: p, jobs: jobs, results: map[*plan.Stage]*stageResult{}}
}

// run runs every stage with fn and returns the target's image.
func (s *scheduler) run(ctx context.Context, fn func(context.Context, *plan.Stage) (*image.Image, error)) (*image.Image, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	s.mu.Lock()
	s.fn, s.ctx, s.cancel = fn, ctx, cancel
	s.mu.Unlock()
	for _, st := range s.plan.Order {
		s.start(st)
	}
	var first error
	for _, st := range s.plan.Order {
		r := s.result(st)
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
	return s.result(s.plan.Target).img, nil
}

// start runs st unless it runs already.
func (s *scheduler) start(st *plan.Stage) *stageResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.results[st]; ok {
		return r
	}
	r := &stageResult{done: make(chan struct{})}
	s.results[st] = r
	go func() {
		defer close(r.done)
		r.img, r.err = s.fn(s.ctx, st)
		if r.err != nil {
			s.cancel(r.err)
		}
	}()
	return r
}

// result is st's result (started).
func (s *scheduler) result(st *plan.Stage) *stageResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.results[st]
}

// cancelledBySibling reports an error that only says another stage's
// failure cancelled this one.
func cancelledBySibling(err error, ctx context.Context) bool {
	return errors.Is(err, context.Canceled) && context.Cause(ctx) != nil && !errors.Is(context.Cause(ctx), context.Canceled)
}

// wait returns the result of a stage the caller depends on, starting it
// if nothing did yet (a stage only an ONBUILD trigger names).
func (s *scheduler) wait(ctx context.Context, st *plan.Stage) (*stageResult, error) {
	r := s.start(st)
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
