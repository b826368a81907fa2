package registry

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/kiln-build/kiln/store"
)

var fast = WithBackoff(Backoff{Attempts: 4, First: time.Millisecond, Factor: 2})

// flaky is an Opener whose transfers fail as scripted, one entry per open.
type flaky struct {
	data   []byte
	script []string // "cut", "corrupt", "500", "404", "reset", "" (fine)
	opens  int
}

func (f *flaky) open() (io.ReadCloser, error) {
	step := ""
	if f.opens < len(f.script) {
		step = f.script[f.opens]
	}
	f.opens++
	switch step {
	case "500", "404":
		code := map[string]int{"500": 500, "404": 404}[step]
		return nil, &transport.Error{StatusCode: code}
	case "reset":
		return nil, fmt.Errorf("read: %w", errors.New("connection reset by peer (simulated)"))
	case "cut":
		return io.NopCloser(io.MultiReader(bytes.NewReader(f.data[:len(f.data)/2]), errReader{io.ErrUnexpectedEOF})), nil
	case "corrupt":
		b := bytes.Clone(f.data)
		b[len(b)/3] ^= 1
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	return io.NopCloser(bytes.NewReader(f.data)), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func blob(t *testing.T) ([]byte, v1.Descriptor) {
	t.Helper()
	data := make([]byte, 100_000)
	rand.Read(data)
	d, n, err := v1.SHA256(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return data, v1.Descriptor{Digest: d, Size: n}
}

func TestFetch(t *testing.T) {
	for _, tt := range []struct {
		name      string
		script    []string
		wantErr   error // nil: stored
		wantOpens int
	}{
		{"Clean", nil, nil, 1},
		{"CutOnce", []string{"cut"}, nil, 2},
		{"CutThrice", []string{"cut", "cut", "cut"}, nil, 4},
		{"ServerErrorThenCut", []string{"500", "cut"}, nil, 3},
		{"CorruptOnce", []string{"corrupt"}, nil, 2},
		{"CorruptAlways", []string{"corrupt", "corrupt", "corrupt", "corrupt", "corrupt"}, store.ErrDigest, 4},
		{"CutForever", []string{"cut", "cut", "cut", "cut", "cut", "cut"}, io.ErrUnexpectedEOF, 4},
		{"NotFound", []string{"404"}, nil, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := store.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			data, desc := blob(t)
			f := &flaky{data: data, script: tt.script}
			err = Fetch(context.Background(), st, desc, f.open, fast)
			if f.opens != tt.wantOpens {
				t.Errorf("%d opens, want %d", f.opens, tt.wantOpens)
			}
			if tt.name == "NotFound" {
				var te *transport.Error
				if !errors.As(err, &te) || te.StatusCode != http.StatusNotFound {
					t.Errorf("err = %v, want the 404", err)
				}
				return
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if st.HasBlob(desc.Digest) {
					t.Error("the blob was stored")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.ReadBlob(desc.Digest)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("stored blob differs (%v)", err)
			}
		})
	}
}

// TestOpenResumes: a reader cut mid-way is reopened and the bytes already
// returned are skipped; the digest is checked at the end.
func TestOpenResumes(t *testing.T) {
	data, desc := blob(t)
	f := &flaky{data: data, script: []string{"cut", "", ""}}
	rc := Open(context.Background(), desc, f.open, fast)
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) || f.opens != 2 {
		t.Errorf("read %d bytes in %d opens: %v", len(got), f.opens, err)
	}
	f = &flaky{data: data, script: []string{"corrupt"}}
	if _, err := io.ReadAll(Open(context.Background(), desc, f.open, fast)); !errors.Is(err, store.ErrDigest) {
		t.Errorf("corrupt: err = %v, want ErrDigest", err)
	}
}

// TestRetryStopsOnCancel: a cancelled context ends the backoff at once.
func TestRetryStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	slow := WithBackoff(Backoff{Attempts: 5, First: time.Hour, Factor: 1})
	calls := 0
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	err := Retry(ctx, func() error { calls++; return io.ErrUnexpectedEOF }, slow)
	if !errors.Is(err, context.Canceled) || calls != 1 || time.Since(start) > 5*time.Second {
		t.Errorf("err = %v after %d calls in %v", err, calls, time.Since(start))
	}
}

func TestRetryable(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("x: %w", store.ErrDigest), true},
		{&transport.Error{StatusCode: 503}, true},
		{&transport.Error{StatusCode: 429}, true},
		{&transport.Error{StatusCode: 404}, false},
		{&transport.Error{StatusCode: 401}, false},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{errors.New("invalid character in JSON"), false},
	} {
		if got := Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
