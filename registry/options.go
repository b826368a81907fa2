package registry

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/kiln-build/kiln/store"
)

// Backoff is how often and how long to wait between attempts.
type Backoff struct {
	Attempts int           // tries in all, the first included
	First    time.Duration // wait after the first failure
	Factor   float64       // each wait is Factor times the one before
	Jitter   float64       // each wait is lengthened by up to Jitter of itself, at random
}

// DefaultBackoff tries 5 times, waiting 0.2, 0.4, 0.8 and 1.6 s (plus up
// to 10%): a registry restarting or a load balancer failing over has 3 s
// to come back, and Ctrl-C never waits longer than one step.
var DefaultBackoff = Backoff{Attempts: 5, First: 200 * time.Millisecond, Factor: 2, Jitter: 0.1}

// wait returns the pause after failed attempt i (0-based).
func (b Backoff) wait(i int) time.Duration {
	d := float64(b.First)
	for ; i > 0; i-- {
		d *= b.Factor
	}
	return time.Duration(d * (1 + b.Jitter*rand.Float64()))
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Option changes the retry policy or the transport.
type Option func(*options)

type options struct {
	backoff   Backoff
	transport http.RoundTripper
}

// WithBackoff replaces DefaultBackoff.
func WithBackoff(b Backoff) Option { return func(o *options) { o.backoff = b } }

// WithTransport sends requests through rt instead of remote.DefaultTransport.
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

func makeOptions(opts []Option) options {
	o := options{backoff: DefaultBackoff, transport: remote.DefaultTransport}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.backoff.Attempts < 1 {
		o.backoff.Attempts = 1
	}
	return o
}

// retryStatusCodes are the responses worth asking again: timeouts, rate
// limits and server errors.
var retryStatusCodes = []int{http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
	http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout}

// Remote returns the go-containerregistry options for calls under ctx with
// the credentials of kc: every request (and every blob upload, which
// go-containerregistry reopens) is retried with the backoff on the
// retryStatusCodes and on resets, timeouts and early EOFs, never once ctx
// is done. Response bodies cut after the headers are not retried here:
// read blobs through Open or Fetch, and resolve manifests and configs
// under Retry.
func Remote(ctx context.Context, kc authn.Keychain, opts ...Option) []remote.Option {
	o := makeOptions(opts)
	b := o.backoff
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(kc),
		remote.WithTransport(o.transport),
		remote.WithRetryStatusCodes(retryStatusCodes...),
		remote.WithRetryBackoff(remote.Backoff{Duration: b.First, Factor: b.Factor, Jitter: b.Jitter, Steps: b.Attempts}),
		remote.WithRetryPredicate(func(err error) bool { return ctx.Err() == nil && Retryable(err) }),
	}
}

// Retryable reports whether err is worth another attempt: a server error
// or rate limit, a network error, a connection reset or closed, a body that
// ended early, or a blob that arrived corrupt. A context's end, a refusal
// (401, 403, 404) or a malformed reply is not.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return te.Temporary()
	}
	var oe *net.OpError
	var de *net.DNSError
	var ne net.Error
	if errors.As(err, &oe) || (errors.As(err, &de) && de.Temporary()) || (errors.As(err, &ne) && ne.Timeout()) {
		return true // refused and reset connections, timeouts
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, store.ErrDigest)
}

// Retry calls f until it succeeds, returns an error that is not Retryable,
// or has been tried b.Attempts times, waiting the backoff in between; it
// returns early with ctx's error when ctx ends. Use it around calls whose
// responses are read whole, such as remote.Image and RawConfigFile (make
// a new remote.Image in every attempt: a v1.Image keeps a config read
// halfway).
func Retry(ctx context.Context, f func() error, opts ...Option) error {
	return retry(ctx, f, Retryable, makeOptions(opts).backoff)
}

func retry(ctx context.Context, f func() error, again func(error) bool, b Backoff) error {
	var err error
	for i := 0; i < b.Attempts; i++ {
		if i > 0 {
			if serr := sleep(ctx, b.wait(i-1)); serr != nil {
				return serr
			}
		}
		if err = f(); err == nil || !again(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return errors.Join(ctx.Err(), err)
	}
	return err
}
