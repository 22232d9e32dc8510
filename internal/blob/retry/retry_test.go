package retry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/fault"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/blob/retry"
)

var (
	err503    = &blob.RetryableError{Err: errors.New("503 service unavailable")}
	errReset  = &blob.RetryableError{Err: errors.New("connection reset by peer")}
	errDenied = errors.New("403 forbidden")
)

// noSleep is an Options.Sleep that does not wait.
func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// sleepRecorder is an Options.Sleep that records the backoffs asked for.
type sleepRecorder struct {
	mu sync.Mutex
	ds []time.Duration
}

func (r *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ds = append(r.ds, d)
	return ctx.Err()
}

func readAll(t *testing.T, s blob.Storage, key string) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), key, 0, -1)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return b
}

// opaque hides every method of r but Read.
type opaque struct{ r io.Reader }

func (o opaque) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestBurstsRetried(t *testing.T) {
	f := fault.New(memory.New(),
		fault.Fault{Op: "put", Times: 3, Err: err503},
		fault.Fault{Op: "get", Times: 2, Err: errReset},
		fault.Fault{Op: "stat", Times: 4, Err: err503},
		fault.Fault{Op: "list", Times: 1, Err: err503},
		fault.Fault{Op: "delete", Times: 2, Err: err503},
	)
	s := retry.New(f, retry.Options{Sleep: noSleep})
	ctx := t.Context()
	data := bytes.Repeat([]byte("cairn "), 50000)
	if err := s.Put(ctx, "obj", bytes.NewReader(data), blob.PutOptions{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := readAll(t, s, "obj"); !bytes.Equal(got, data) {
		t.Errorf("stored object is %d bytes that differ from the %d put", len(got), len(data))
	}
	if info, err := s.Stat(ctx, "obj"); err != nil || info.Size != int64(len(data)) {
		t.Errorf("Stat = %+v, %v", info, err)
	}
	var keys []string
	if err := s.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil }); err != nil || !slices.Equal(keys, []string{"obj"}) {
		t.Errorf("List = %q, %v", keys, err)
	}
	if err := s.Delete(ctx, "obj"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	for op, want := range map[string]int{"put": 4, "get": 3, "stat": 5, "list": 2, "delete": 3} {
		if got := f.Calls(op); got != want {
			t.Errorf("Calls(%s) = %d, want %d", op, got, want)
		}
	}
}

func TestFinalErrorsNotRetried(t *testing.T) {
	ctx := t.Context()
	f := fault.New(memory.New(), fault.Fault{Op: "stat", Times: -1, Err: errDenied})
	s := retry.New(f, retry.Options{Sleep: noSleep})
	if _, err := s.Stat(ctx, "k"); !errors.Is(err, errDenied) {
		t.Errorf("Stat error = %v, want %v", err, errDenied)
	}
	if _, err := s.Get(ctx, "missing", 0, -1); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get(missing) error = %v, want ErrNotFound", err)
	}
	// Marked retryable but a sentinel: still final.
	f.Add(fault.Fault{Op: "delete", Times: -1, Err: &blob.RetryableError{Err: blob.ErrNotFound}})
	if err := s.Delete(ctx, "k"); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Delete error = %v, want ErrNotFound", err)
	}
	for _, op := range []string{"stat", "get", "delete"} {
		if got := f.Calls(op); got != 1 {
			t.Errorf("Calls(%s) = %d, want 1 (no retries)", op, got)
		}
	}
}

func TestAttemptsExhausted(t *testing.T) {
	last := &blob.RetryableError{Err: errors.New("the last one")}
	f := fault.New(memory.New(), fault.Fault{Op: "stat", Times: 2, Err: err503}, fault.Fault{Op: "stat", Times: -1, Err: last})
	s := retry.New(f, retry.Options{Attempts: 3, Sleep: noSleep})
	_, err := s.Stat(t.Context(), "some/key")
	if !errors.Is(err, last) {
		t.Fatalf("Stat error = %v, want the last error", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "stat some/key") || !strings.Contains(msg, "3 attempts") {
		t.Errorf("error %q does not name the op, key and attempts", msg)
	}
	if got := f.Calls("stat"); got != 3 {
		t.Errorf("Calls(stat) = %d, want 3", got)
	}
}

func TestDefaultAttempts(t *testing.T) {
	f := fault.New(memory.New(), fault.Fault{Op: "stat", Times: -1, Err: err503})
	s := retry.New(f, retry.Options{Sleep: noSleep})
	if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, err503) {
		t.Fatalf("Stat error = %v", err)
	}
	if got := f.Calls("stat"); got != 5 {
		t.Errorf("Calls(stat) = %d, want the default 5", got)
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	f := fault.New(memory.New(), fault.Fault{Op: "stat", Times: -1, Err: err503})
	// The real sleep, with a backoff no test would wait out.
	s := retry.New(f, retry.Options{Initial: time.Hour, Max: time.Hour, Rand: func() float64 { return 0.99 }})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err := s.Stat(ctx, "k")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Stat error = %v, want context.Canceled", err)
	}
	if blob.IsRetryable(err) {
		t.Errorf("cancelled Stat error %v is retryable", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("cancelled Stat returned after %v", d)
	}
	if got := f.Calls("stat"); got != 1 {
		t.Errorf("Calls(stat) = %d, want 1", got)
	}
}

func TestNonSeekablePut(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 10000)

	t.Run("failed after reading", func(t *testing.T) {
		m := memory.New()
		f := fault.New(m, fault.Fault{Op: "put", AfterBytes: 100, Err: errReset})
		s := retry.New(f, retry.Options{Sleep: noSleep})
		err := s.Put(t.Context(), "obj", opaque{bytes.NewReader(data)}, blob.PutOptions{})
		if !errors.Is(err, errReset) || !blob.IsRetryable(err) {
			t.Errorf("Put error = %v, want the retryable reset, for the caller to retry", err)
		}
		if got := f.Calls("put"); got != 1 {
			t.Errorf("Calls(put) = %d, want 1", got)
		}
		if _, err := m.Stat(t.Context(), "obj"); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat after failed Put error = %v, want ErrNotFound", err)
		}
	})

	t.Run("failed before reading", func(t *testing.T) {
		m := memory.New()
		f := fault.New(m, fault.Fault{Op: "put", Times: 2, Err: err503})
		s := retry.New(f, retry.Options{Sleep: noSleep})
		if err := s.Put(t.Context(), "obj", opaque{bytes.NewReader(data)}, blob.PutOptions{}); err != nil {
			t.Fatalf("Put: %v", err)
		}
		if got := f.Calls("put"); got != 3 {
			t.Errorf("Calls(put) = %d, want 3", got)
		}
		if got := readAll(t, m, "obj"); !bytes.Equal(got, data) {
			t.Errorf("stored %d bytes, want the %d put", len(got), len(data))
		}
	})
}

func TestSeekableRewound(t *testing.T) {
	data := []byte(strings.Repeat("0123456789", 1000))
	m := memory.New()
	f := fault.New(m,
		fault.Fault{Op: "put", AfterBytes: 100, Err: errReset},
		fault.Fault{Op: "put", AfterBytes: 5000, Err: errReset},
	)
	s := retry.New(f, retry.Options{Sleep: noSleep})
	r := bytes.NewReader(data)
	// The body starts where the reader is, not at 0.
	if _, err := r.Seek(10, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(t.Context(), "obj", r, blob.PutOptions{}); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if got := f.Calls("put"); got != 3 {
		t.Errorf("Calls(put) = %d, want 3", got)
	}
	if got := readAll(t, m, "obj"); !bytes.Equal(got, data[10:]) {
		t.Errorf("stored %d bytes, want the %d after the reader's start", len(got), len(data)-10)
	}
}

// badSeeker is seekable until asked to rewind.
type badSeeker struct{ *bytes.Reader }

func (b badSeeker) Seek(offset int64, whence int) (int64, error) {
	if whence == io.SeekStart {
		return 0, errors.New("cannot seek")
	}
	return b.Reader.Seek(offset, whence)
}

func TestRewindFailure(t *testing.T) {
	f := fault.New(memory.New(), fault.Fault{Op: "put", AfterBytes: 10, Err: errReset})
	s := retry.New(f, retry.Options{Sleep: noSleep})
	err := s.Put(t.Context(), "obj", badSeeker{bytes.NewReader(make([]byte, 100))}, blob.PutOptions{})
	if err == nil || blob.IsRetryable(err) || !strings.Contains(err.Error(), "cannot seek") {
		t.Errorf("Put error = %v, want the final seek error", err)
	}
	if got := f.Calls("put"); got != 1 {
		t.Errorf("Calls(put) = %d, want 1", got)
	}
}

func TestOnRetry(t *testing.T) {
	f := fault.New(memory.New(), fault.Fault{Op: "stat", Times: 3, Err: err503})
	type call struct {
		op, key string
		attempt int
	}
	var calls []call
	s := retry.New(f, retry.Options{Sleep: noSleep, OnRetry: func(op, key string, attempt int, err error) {
		if !errors.Is(err, err503) {
			t.Errorf("OnRetry err = %v, want %v", err, err503)
		}
		calls = append(calls, call{op, key, attempt})
	}})
	if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat error = %v, want ErrNotFound after the retries", err)
	}
	want := []call{{"stat", "k", 1}, {"stat", "k", 2}, {"stat", "k", 3}}
	if !slices.Equal(calls, want) {
		t.Errorf("OnRetry calls = %v, want %v", calls, want)
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		name string
		rand float64
		want []time.Duration
	}{
		{"half", 0.5, []time.Duration{50, 100, 200, 400, 500, 500, 500}},
		{"three quarters", 0.75, []time.Duration{75, 150, 300, 600, 750, 750, 750}},
		{"zero", 0, []time.Duration{0, 0, 0, 0, 0, 0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &sleepRecorder{}
			f := fault.New(memory.New(), fault.Fault{Op: "stat", Times: -1, Err: err503})
			s := retry.New(f, retry.Options{
				Attempts: 8, Initial: 100 * time.Millisecond, Max: time.Second,
				Sleep: rec.sleep, Rand: func() float64 { return tc.rand },
			})
			if _, err := s.Stat(t.Context(), "k"); !errors.Is(err, err503) {
				t.Fatalf("Stat error = %v", err)
			}
			want := make([]time.Duration, len(tc.want))
			for i, ms := range tc.want {
				want[i] = ms * time.Millisecond
			}
			if !slices.Equal(rec.ds, want) {
				t.Errorf("backoffs = %v, want %v", rec.ds, want)
			}
		})
	}
}

func TestBackoffHugeAttempts(t *testing.T) {
	rec := &sleepRecorder{}
	f := fault.New(memory.New(), fault.Fault{Op: "stat", Times: -1, Err: err503})
	s := retry.New(f, retry.Options{Attempts: 100, Sleep: rec.sleep, Rand: func() float64 { return 0.5 }})
	_, _ = s.Stat(t.Context(), "k")
	for i, d := range rec.ds {
		if d <= 0 || d > 5*time.Second {
			t.Fatalf("backoff %d = %v, want in (0, 5s] (half the default 10s cap)", i+1, d)
		}
	}
}

// flakyList fails its first listing after delivering two keys.
type flakyList struct {
	blob.Storage
	calls int
}

func (f *flakyList) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	f.calls++
	n := 0
	return f.Storage.List(ctx, prefix, func(info blob.Info) error {
		if f.calls == 1 && n == 2 {
			return errReset
		}
		n++
		return fn(info)
	})
}

func TestListResumes(t *testing.T) {
	m := memory.New()
	var want []string
	for i := range 5 {
		key := fmt.Sprintf("k%d", i)
		want = append(want, key)
		if err := m.Put(t.Context(), key, strings.NewReader(key), blob.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	inner := &flakyList{Storage: m}
	s := retry.New(inner, retry.Options{Sleep: noSleep})
	var got []string
	if err := s.List(t.Context(), "", func(i blob.Info) error { got = append(got, i.Key); return nil }); err != nil {
		t.Fatalf("List: %v", err)
	}
	if !slices.Equal(got, want) || inner.calls != 2 {
		t.Errorf("List gave %q in %d listings, want %q in 2", got, inner.calls, want)
	}
}

func TestListCallbackErrorNotRetried(t *testing.T) {
	m := memory.New()
	if err := m.Put(t.Context(), "k", strings.NewReader("v"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	f := fault.New(m)
	s := retry.New(f, retry.Options{Sleep: noSleep})
	if err := s.List(t.Context(), "", func(blob.Info) error { return err503 }); !errors.Is(err, err503) {
		t.Errorf("List error = %v, want the callback's", err)
	}
	if got := f.Calls("list"); got != 1 {
		t.Errorf("Calls(list) = %d, want 1", got)
	}
}

// lostResponse stores the first Put and then reports it failed, as when a response is lost.
type lostResponse struct {
	blob.Storage
	once sync.Once
}

func (l *lostResponse) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	err := l.Storage.Put(ctx, key, r, opts)
	l.once.Do(func() { err = errReset })
	return err
}

func TestIfNotExistsAfterLostResponse(t *testing.T) {
	s := retry.New(&lostResponse{Storage: memory.New()}, retry.Options{Sleep: noSleep})
	err := s.Put(t.Context(), "obj", strings.NewReader("v"), blob.PutOptions{IfNotExists: true})
	if !errors.Is(err, blob.ErrAlreadyExists) {
		t.Errorf("Put error = %v, want ErrAlreadyExists (see the caveat on Put)", err)
	}
}

func TestLockedNotRetried(t *testing.T) {
	m := memory.New()
	ctx := t.Context()
	if err := m.Put(ctx, "k", strings.NewReader("x"), blob.PutOptions{RetainUntil: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f := fault.New(m)
	s := retry.New(f, retry.Options{Sleep: noSleep})
	if err := s.Delete(ctx, "k"); !errors.Is(err, blob.ErrLocked) {
		t.Fatalf("Delete error = %v, want ErrLocked", err)
	}
	if err := s.Put(ctx, "k", strings.NewReader("y"), blob.PutOptions{}); !errors.Is(err, blob.ErrLocked) {
		t.Fatalf("Put error = %v, want ErrLocked", err)
	}
	if n := f.Calls("*"); n != 2 {
		t.Errorf("the inner storage saw %d calls, want 2 (no retries)", n)
	}
}
