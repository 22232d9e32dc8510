// Package ratelimit is a blob.Storage decorator that limits the rate of operations and the
// bandwidth of Put and Get bodies, to stay within a provider's request quotas or to leave a
// shared link some room.
package ratelimit

import (
	"context"
	"fmt"
	"io"
	"time"

	"golang.org/x/time/rate"

	"github.com/cairnbackup/cairn/internal/blob"
)

var (
	_ blob.Storage = (*Storage)(nil)
	_ blob.Locker  = (*Storage)(nil)
)

// maxChunk is the most bytes paid for at once; small enough that throttling stays smooth.
const maxChunk = 32 << 10

// Storage limits the operations of another Storage. It is safe for concurrent use.
type Storage struct {
	inner blob.Storage
	ops   *rate.Limiter
	bytes *rate.Limiter // nil: unlimited
	chunk int
}

// New returns inner limited to opsPerSecond operations (in bursts of up to burst) and, when
// bytesPerSecond > 0, to bytesPerSecond of body bytes, Put and Get together. opsPerSecond <= 0
// means no limit on operations. Every call is one operation; a Get's or List's is taken when it
// starts, however long reading or listing then lasts.
func New(inner blob.Storage, opsPerSecond float64, burst int, bytesPerSecond int64) *Storage {
	s := &Storage{inner: inner, ops: rate.NewLimiter(rate.Inf, 0)}
	if opsPerSecond > 0 {
		s.ops = rate.NewLimiter(rate.Limit(opsPerSecond), max(burst, 1))
	}
	if bytesPerSecond > 0 {
		s.chunk = int(min(bytesPerSecond, maxChunk))
		s.bytes = rate.NewLimiter(rate.Limit(bytesPerSecond), s.chunk)
	}
	return s
}

// wait takes n tokens from l.
func wait(ctx context.Context, l *rate.Limiter, n int) error {
	err := l.WaitN(ctx, n)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	// WaitN fails at once when the wait would outlast ctx's deadline; say so in a way that
	// errors.Is understands.
	return fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
}

func (s *Storage) op(ctx context.Context, op, key string) error {
	if err := wait(ctx, s.ops, 1); err != nil {
		return fmt.Errorf("%s %s: waiting for rate limit: %w", op, key, err)
	}
	return nil
}

// String implements blob.Storage.
func (s *Storage) String() string { return s.inner.String() }

// Put implements blob.Storage.
func (s *Storage) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	if err := s.op(ctx, "put", key); err != nil {
		return err
	}
	return s.inner.Put(ctx, key, s.throttle(ctx, r), opts)
}

// Get implements blob.Storage.
func (s *Storage) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := s.op(ctx, "get", key); err != nil {
		return nil, err
	}
	rc, err := s.inner.Get(ctx, key, offset, length)
	if err != nil || s.bytes == nil {
		return rc, err
	}
	return struct {
		io.Reader
		io.Closer
	}{s.throttle(ctx, rc), rc}, nil
}

// Stat implements blob.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := s.op(ctx, "stat", key); err != nil {
		return blob.Info{}, err
	}
	return s.inner.Stat(ctx, key)
}

// List implements blob.Storage.
func (s *Storage) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	if err := s.op(ctx, "list", prefix); err != nil {
		return err
	}
	return s.inner.List(ctx, prefix, fn)
}

// Delete implements blob.Storage.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if err := s.op(ctx, "delete", key); err != nil {
		return err
	}
	return s.inner.Delete(ctx, key)
}

// Retention implements blob.Locker by asking the inner Storage (see blob.RetentionOf); it is
// one operation.
func (s *Storage) Retention(ctx context.Context, key string) (time.Time, error) {
	if err := s.op(ctx, "retention", key); err != nil {
		return time.Time{}, err
	}
	return blob.RetentionOf(ctx, s.inner, key)
}

// ExtendRetention implements blob.Locker by asking the inner Storage (see
// blob.ExtendRetention); it is one operation.
func (s *Storage) ExtendRetention(ctx context.Context, key string, until time.Time) error {
	if err := s.op(ctx, "extend-retention", key); err != nil {
		return err
	}
	return blob.ExtendRetention(ctx, s.inner, key, until)
}

// throttle returns r paying for its bytes from s.bytes. It stays an io.Seeker if r is one, so
// that a retry decorator above can still rewind a Put body.
func (s *Storage) throttle(ctx context.Context, r io.Reader) io.Reader {
	if s.bytes == nil {
		return r
	}
	tr := &throttledReader{ctx: ctx, r: r, l: s.bytes, chunk: s.chunk}
	if sk, ok := r.(io.Seeker); ok {
		return &throttledReadSeeker{tr, sk}
	}
	return tr
}

// throttledReader reads at most a chunk at a time and pays for what it read before returning it,
// so a slow reader is never charged for bytes it did not get.
type throttledReader struct {
	ctx   context.Context
	r     io.Reader
	l     *rate.Limiter
	chunk int
}

func (r *throttledReader) Read(p []byte) (int, error) {
	if len(p) > r.chunk {
		p = p[:r.chunk]
	}
	n, err := r.r.Read(p)
	if n > 0 {
		if werr := wait(r.ctx, r.l, n); werr != nil {
			return 0, werr
		}
	}
	return n, err
}

type throttledReadSeeker struct {
	*throttledReader
	io.Seeker
}
