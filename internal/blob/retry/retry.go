// Package retry is a blob.Storage decorator that retries operations failing with a transient
// error (blob.IsRetryable), with exponential backoff and full jitter.
package retry

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/cairnbackup/cairn/internal/blob"
)

var (
	_ blob.Storage = (*Storage)(nil)
	_ blob.Locker  = (*Storage)(nil)
)

// Options tunes the retries; zero fields take the defaults noted.
type Options struct {
	// Attempts is the most calls made for one operation, the first included (default 5).
	Attempts int
	// Initial is the backoff ceiling before the first retry; it doubles for every further retry
	// (default 100ms).
	Initial time.Duration
	// Max caps the backoff ceiling (default 10s).
	Max time.Duration
	// Sleep waits d, or returns early with an error when ctx is done (default: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1) by which the ceiling is scaled to give the actual backoff
	// (default math/rand/v2).
	Rand func() float64
	// OnRetry, if set, is called before each backoff with the 1-based number of the attempt
	// that failed and its error.
	OnRetry func(op, key string, attempt int, err error)
}

// Storage retries the operations of another Storage. It is safe for concurrent use.
type Storage struct {
	inner blob.Storage
	opts  Options
}

// New returns inner with retries.
func New(inner blob.Storage, opts Options) *Storage {
	if opts.Attempts <= 0 {
		opts.Attempts = 5
	}
	if opts.Initial <= 0 {
		opts.Initial = 100 * time.Millisecond
	}
	if opts.Max <= 0 {
		opts.Max = 10 * time.Second
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	return &Storage{inner: inner, opts: opts}
}

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

// backoff returns how long to wait after the given failed attempt.
func (s *Storage) backoff(attempt int) time.Duration {
	ceiling := min(s.opts.Initial, s.opts.Max)
	for i := 1; i < attempt && ceiling < s.opts.Max; i++ {
		ceiling = min(ceiling, s.opts.Max/2) * 2
	}
	return time.Duration(s.opts.Rand() * float64(ceiling))
}

// do calls fn until it succeeds, fails with an error that is not retryable (returned as is), or
// runs out of attempts. stop, if set, may refuse a retry by returning the error to fail with.
func (s *Storage) do(ctx context.Context, op, key string, fn func(attempt int) error, stop func(error) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(attempt)
		if err == nil || !blob.IsRetryable(err) {
			return err
		}
		if stop != nil {
			if err := stop(err); err != nil {
				return err
			}
		}
		if attempt >= s.opts.Attempts {
			return fmt.Errorf("%s %s: giving up after %d attempts: %w", op, key, attempt, err)
		}
		if s.opts.OnRetry != nil {
			s.opts.OnRetry(op, key, attempt, err)
		}
		serr := s.opts.Sleep(ctx, s.backoff(attempt))
		if serr == nil {
			serr = ctx.Err()
		}
		if serr != nil {
			// The last error is shown, not wrapped: an interrupted retry must not look retryable.
			return fmt.Errorf("%s %s: interrupted after %d attempts (last error: %v): %w", op, key, attempt, err, serr) //nolint:errorlint
		}
	}
}

// String implements blob.Storage.
func (s *Storage) String() string { return s.inner.String() }

// Put implements blob.Storage. A retry must send the body again from its start, so Put is
// retried only when r is an io.Seeker (it is seeked back to where it was when Put was called)
// or when the failed attempt read nothing from r. Buffering a non-seekable body to replay it
// would cost up to its whole size in memory; the caller, who knows where the bytes come from, is
// better placed to retry, so the retryable error is returned to it.
//
// With opts.IfNotExists, an attempt that failed retryably may nonetheless have stored the object
// (the response was lost, not the request), so that the retry fails with ErrAlreadyExists.
// That error is returned as is: telling our own earlier write from someone else's would take
// reading the object back, which is the caller's decision.
func (s *Storage) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	body, rewind, stop := rewindable(key, r)
	var last error
	return s.do(ctx, "put", key, func(attempt int) error {
		if attempt > 1 && rewind != nil {
			if err := rewind(); err != nil {
				// Not wrapping last: a body we cannot rewind must not be retried.
				return fmt.Errorf("put %s: rewinding the body for attempt %d (after %v): %w", key, attempt, last, err) //nolint:errorlint // the rewind error is the cause
			}
		}
		last = s.inner.Put(ctx, key, body, opts)
		return last
	}, stop)
}

// rewindable returns the reader to give the inner Put and either a function that rewinds it or
// one that refuses a retry once bytes have been read.
func rewindable(key string, r io.Reader) (body io.Reader, rewind func() error, stop func(error) error) {
	if sk, ok := r.(io.Seeker); ok {
		// Seeking can fail even so, e.g. on an *os.File that is a pipe.
		if start, err := sk.Seek(0, io.SeekCurrent); err == nil {
			return r, func() error {
				_, err := sk.Seek(start, io.SeekStart)
				return err
			}, nil
		}
	}
	cr := &countingReader{r: r}
	return cr, nil, func(err error) error {
		if n := cr.n.Load(); n > 0 {
			return fmt.Errorf("put %s: not retried, %d bytes of a non-seekable body already read: %w", key, n, err)
		}
		return nil
	}
}

// countingReader counts the bytes read; atomically, as some backends read from other goroutines.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// Get implements blob.Storage. Only opening the object is retried; a read failing mid-stream is
// returned to the caller, who may Get the rest from the offset reached.
func (s *Storage) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := s.do(ctx, "get", key, func(int) error {
		var err error
		rc, err = s.inner.Get(ctx, key, offset, length)
		return err
	}, nil)
	return rc, err
}

// Stat implements blob.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (blob.Info, error) {
	var info blob.Info
	err := s.do(ctx, "stat", key, func(int) error {
		var err error
		info, err = s.inner.Stat(ctx, key)
		return err
	}, nil)
	return info, err
}

// List implements blob.Storage. A listing that fails part way is resumed: keys come in lexical
// order, so a retry skips those up to the last one fn was given. An error from fn is never
// retried, even a retryable one.
func (s *Storage) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	var (
		last      string
		delivered bool
		fnFailed  bool
	)
	return s.do(ctx, "list", prefix, func(int) error {
		return s.inner.List(ctx, prefix, func(info blob.Info) error {
			if delivered && info.Key <= last {
				return nil
			}
			if err := fn(info); err != nil {
				fnFailed = true
				return err
			}
			last, delivered = info.Key, true
			return nil
		})
	}, func(err error) error {
		if fnFailed {
			return err
		}
		return nil
	})
}

// Retention implements blob.Locker by asking the inner Storage (see blob.RetentionOf).
func (s *Storage) Retention(ctx context.Context, key string) (time.Time, error) {
	var until time.Time
	err := s.do(ctx, "retention", key, func(int) error {
		var err error
		until, err = blob.RetentionOf(ctx, s.inner, key)
		return err
	}, nil)
	return until, err
}

// ExtendRetention implements blob.Locker by asking the inner Storage (see blob.ExtendRetention);
// extending twice to the same end is the same as once, so it is retried like a read.
func (s *Storage) ExtendRetention(ctx context.Context, key string, until time.Time) error {
	return s.do(ctx, "extend-retention", key, func(int) error { return blob.ExtendRetention(ctx, s.inner, key, until) }, nil)
}

// Delete implements blob.Storage. As with Put and IfNotExists, a retried Delete can fail with
// ErrNotFound because an earlier attempt did delete the object; that is returned as is.
func (s *Storage) Delete(ctx context.Context, key string) error {
	return s.do(ctx, "delete", key, func(int) error { return s.inner.Delete(ctx, key) }, nil)
}
