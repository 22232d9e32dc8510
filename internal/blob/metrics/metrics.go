// Package metrics is a blob.Storage decorator that records Prometheus metrics for every
// operation: counts by result, bytes moved, latency, and (through RetryHook) retries.
//
// To see retries, put the retry decorator outside this one and pass it the hook:
//
//	m, err := metrics.New(backend, reg, "s3")
//	s := retry.New(m, retry.Options{OnRetry: m.RetryHook()})
//
// Then the operation counts are of calls the backend saw, attempts included, which is what its
// error rate and the provider's bill are made of.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairnbackup/cairn/internal/blob"
)

var (
	_ blob.Storage = (*Storage)(nil)
	_ blob.Locker  = (*Storage)(nil)
)

var ops = []string{"put", "get", "stat", "list", "delete"}

// Result label values.
const (
	resultOK            = "ok"
	resultNotFound      = "not_found"
	resultAlreadyExists = "already_exists"
	resultError         = "error"
)

// opMetrics are the series of one backend and op, resolved once so that recording is cheap.
type opMetrics struct {
	results  map[string]prometheus.Counter
	bytes    prometheus.Counter
	duration prometheus.Observer
	retries  prometheus.Counter
}

// Storage records metrics for the operations of another Storage. It is safe for concurrent use.
type Storage struct {
	inner blob.Storage
	ops   map[string]*opMetrics
}

// New returns inner instrumented with metrics registered with reg and labelled backend="backend".
// Storages given the same reg share the collectors, so several backends (or several Storages
// of one) can be instrumented with one registry.
func New(inner blob.Storage, reg prometheus.Registerer, backend string) (*Storage, error) {
	if reg == nil {
		return nil, errors.New("blob metrics: nil prometheus.Registerer")
	}
	opsTotal, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cairn_blob_operations_total",
		Help: "Storage operations by backend, operation and result (ok, not_found, already_exists, error).",
	}, []string{"backend", "op", "result"}))
	if err != nil {
		return nil, err
	}
	bytesTotal, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cairn_blob_bytes_total",
		Help: "Bytes read from Put bodies and returned by Get bodies.",
	}, []string{"backend", "op"}))
	if err != nil {
		return nil, err
	}
	duration, err := register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cairn_blob_operation_duration_seconds",
		Help:    "Storage operation latency; for Get until the body is open, for List excluding the callback.",
		Buckets: prometheus.ExponentialBucketsRange(0.001, 60, 16),
	}, []string{"backend", "op"}))
	if err != nil {
		return nil, err
	}
	retries, err := register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cairn_blob_retries_total",
		Help: "Storage operations retried after a transient failure.",
	}, []string{"backend", "op"}))
	if err != nil {
		return nil, err
	}

	s := &Storage{inner: inner, ops: map[string]*opMetrics{}}
	for _, op := range ops {
		m := &opMetrics{
			results:  map[string]prometheus.Counter{},
			bytes:    bytesTotal.WithLabelValues(backend, op),
			duration: duration.WithLabelValues(backend, op),
			retries:  retries.WithLabelValues(backend, op),
		}
		for _, r := range []string{resultOK, resultNotFound, resultAlreadyExists, resultError} {
			m.results[r] = opsTotal.WithLabelValues(backend, op, r)
		}
		s.ops[op] = m
	}
	return s, nil
}

// register registers c with reg, or returns the collector of the same description registered
// before.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("blob metrics: %w", err)
}

// RetryHook returns a function for retry.Options.OnRetry that counts retries in
// cairn_blob_retries_total. Ops other than those of blob.Storage are ignored.
func (s *Storage) RetryHook() func(op, key string, attempt int, err error) {
	return func(op, _ string, _ int, _ error) {
		if m, ok := s.ops[op]; ok {
			m.retries.Inc()
		}
	}
}

func result(err error) string {
	switch {
	case err == nil:
		return resultOK
	case errors.Is(err, blob.ErrNotFound):
		return resultNotFound
	case errors.Is(err, blob.ErrAlreadyExists):
		return resultAlreadyExists
	default:
		return resultError
	}
}

func (m *opMetrics) done(start time.Time, err error) {
	m.duration.Observe(time.Since(start).Seconds())
	m.results[result(err)].Inc()
}

// String implements blob.Storage.
func (s *Storage) String() string { return s.inner.String() }

// Put implements blob.Storage. Bytes are counted as the backend reads them, so a failed or
// retried Put counts what it transferred.
func (s *Storage) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	m := s.ops["put"]
	start := time.Now()
	err := s.inner.Put(ctx, key, countReader(r, m.bytes), opts)
	m.done(start, err)
	return err
}

// Get implements blob.Storage.
func (s *Storage) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	m := s.ops["get"]
	start := time.Now()
	rc, err := s.inner.Get(ctx, key, offset, length)
	m.done(start, err)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{countReader(rc, m.bytes), rc}, nil
}

// Stat implements blob.Storage.
func (s *Storage) Stat(ctx context.Context, key string) (blob.Info, error) {
	m := s.ops["stat"]
	start := time.Now()
	info, err := s.inner.Stat(ctx, key)
	m.done(start, err)
	return info, err
}

// List implements blob.Storage. The time fn takes is the caller's, so it is left out of the
// recorded duration.
func (s *Storage) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	m := s.ops["list"]
	start := time.Now()
	var inFn time.Duration
	err := s.inner.List(ctx, prefix, func(info blob.Info) error {
		t := time.Now()
		defer func() { inFn += time.Since(t) }()
		return fn(info)
	})
	m.duration.Observe((time.Since(start) - inFn).Seconds())
	m.results[result(err)].Inc()
	return err
}

// Delete implements blob.Storage.
func (s *Storage) Delete(ctx context.Context, key string) error {
	m := s.ops["delete"]
	start := time.Now()
	err := s.inner.Delete(ctx, key)
	m.done(start, err)
	return err
}

// Retention implements blob.Locker by asking the inner Storage (see blob.RetentionOf). It is
// not recorded: it is a check of what Put did, not an operation of its own kind.
func (s *Storage) Retention(ctx context.Context, key string) (time.Time, error) {
	return blob.RetentionOf(ctx, s.inner, key)
}

// ExtendRetention implements blob.Locker by asking the inner Storage (see blob.ExtendRetention).
// Like Retention it is not recorded: it belongs to the Put of a locked backup.
func (s *Storage) ExtendRetention(ctx context.Context, key string, until time.Time) error {
	return blob.ExtendRetention(ctx, s.inner, key, until)
}

// countReader returns r counting the bytes read into c. It stays an io.Seeker if r is one, so
// that a retry decorator above can still rewind a Put body.
func countReader(r io.Reader, c prometheus.Counter) io.Reader {
	cr := &countingReader{r: r, c: c}
	if sk, ok := r.(io.Seeker); ok {
		return &countingReadSeeker{cr, sk}
	}
	return cr
}

type countingReader struct {
	r io.Reader
	c prometheus.Counter
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.c.Add(float64(n))
	}
	return n, err
}

type countingReadSeeker struct {
	*countingReader
	io.Seeker
}
