package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/blobtest"
	"github.com/cairnbackup/cairn/internal/blob/fault"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/blob/metrics"
	"github.com/cairnbackup/cairn/internal/blob/retry"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(*testing.T) blob.Storage {
		s, err := metrics.New(memory.New(), prometheus.NewPedanticRegistry(), "mem")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func newStorage(t *testing.T, inner blob.Storage) (*metrics.Storage, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	s, err := metrics.New(inner, reg, "mem")
	if err != nil {
		t.Fatal(err)
	}
	return s, reg
}

const (
	opsName     = "cairn_blob_operations_total"
	bytesName   = "cairn_blob_bytes_total"
	durName     = "cairn_blob_operation_duration_seconds"
	retriesName = "cairn_blob_retries_total"
)

// expect compares the named metrics of reg with the text exposition body.
func expect(t *testing.T, reg prometheus.Gatherer, body string, names ...string) {
	t.Helper()
	if err := testutil.GatherAndCompare(reg, strings.NewReader(body), names...); err != nil {
		t.Error(err)
	}
}

// sampleCounts returns the histogram's sample count for each op of backend "mem".
func sampleCounts(t *testing.T, reg prometheus.Gatherer) map[string]uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() != durName {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["backend"] == "mem" {
				counts[labels["op"]] = m.GetHistogram().GetSampleCount()
			}
		}
	}
	return counts
}

func TestCounts(t *testing.T) {
	s, reg := newStorage(t, memory.New())
	ctx := t.Context()
	data := bytes.Repeat([]byte("x"), 1000)
	if err := s.Put(ctx, "a", bytes.NewReader(data), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "a", bytes.NewReader(data), blob.PutOptions{IfNotExists: true}); !errors.Is(err, blob.ErrAlreadyExists) {
		t.Fatalf("second Put error = %v", err)
	}
	rc, err := s.Get(ctx, "a", 100, 300)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, err := s.Get(ctx, "missing", 0, -1); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Get(missing) error = %v", err)
	}
	if _, err := s.Stat(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.List(ctx, "", func(blob.Info) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "bad//key"); !errors.Is(err, blob.ErrInvalidKey) {
		t.Fatalf("Delete(bad//key) error = %v", err)
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}

	expect(t, reg, `
# HELP cairn_blob_operations_total Storage operations by backend, operation and result (ok, not_found, already_exists, error).
# TYPE cairn_blob_operations_total counter
cairn_blob_operations_total{backend="mem",op="delete",result="already_exists"} 0
cairn_blob_operations_total{backend="mem",op="delete",result="error"} 1
cairn_blob_operations_total{backend="mem",op="delete",result="not_found"} 0
cairn_blob_operations_total{backend="mem",op="delete",result="ok"} 1
cairn_blob_operations_total{backend="mem",op="get",result="already_exists"} 0
cairn_blob_operations_total{backend="mem",op="get",result="error"} 0
cairn_blob_operations_total{backend="mem",op="get",result="not_found"} 1
cairn_blob_operations_total{backend="mem",op="get",result="ok"} 1
cairn_blob_operations_total{backend="mem",op="list",result="already_exists"} 0
cairn_blob_operations_total{backend="mem",op="list",result="error"} 0
cairn_blob_operations_total{backend="mem",op="list",result="not_found"} 0
cairn_blob_operations_total{backend="mem",op="list",result="ok"} 1
cairn_blob_operations_total{backend="mem",op="put",result="already_exists"} 1
cairn_blob_operations_total{backend="mem",op="put",result="error"} 0
cairn_blob_operations_total{backend="mem",op="put",result="not_found"} 0
cairn_blob_operations_total{backend="mem",op="put",result="ok"} 1
cairn_blob_operations_total{backend="mem",op="stat",result="already_exists"} 0
cairn_blob_operations_total{backend="mem",op="stat",result="error"} 0
cairn_blob_operations_total{backend="mem",op="stat",result="not_found"} 0
cairn_blob_operations_total{backend="mem",op="stat",result="ok"} 1
`, opsName)

	// The refused Put read its body before finding the key taken, as memory does.
	expect(t, reg, `
# HELP cairn_blob_bytes_total Bytes read from Put bodies and returned by Get bodies.
# TYPE cairn_blob_bytes_total counter
cairn_blob_bytes_total{backend="mem",op="delete"} 0
cairn_blob_bytes_total{backend="mem",op="get"} 300
cairn_blob_bytes_total{backend="mem",op="list"} 0
cairn_blob_bytes_total{backend="mem",op="put"} 2000
cairn_blob_bytes_total{backend="mem",op="stat"} 0
`, bytesName)

	want := map[string]uint64{"put": 2, "get": 2, "stat": 1, "list": 1, "delete": 2}
	got := sampleCounts(t, reg)
	for op, n := range want {
		if got[op] != n {
			t.Errorf("%s samples for %s = %d, want %d", durName, op, got[op], n)
		}
	}
}

func TestListDurationExcludesCallback(t *testing.T) {
	m := memory.New()
	if err := m.Put(t.Context(), "k", strings.NewReader("v"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	s, reg := newStorage(t, m)
	if err := s.List(t.Context(), "", func(blob.Info) error { time.Sleep(300 * time.Millisecond); return nil }); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != durName {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h.GetSampleCount() == 1 && h.GetSampleSum() >= 0.3 {
				t.Errorf("List duration %.3fs includes the callback's 0.3s", h.GetSampleSum())
			}
		}
	}
}

func TestRetryHook(t *testing.T) {
	e503 := &blob.RetryableError{Err: errors.New("503")}
	f := fault.New(memory.New(), fault.Fault{Op: "put", Times: 2, Err: e503}, fault.Fault{Op: "stat", Times: 1, Err: e503})
	// Retry outside metrics: operations count every attempt, retries the repeats.
	m, reg := newStorage(t, f)
	s := retry.New(m, retry.Options{
		Sleep:   func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		OnRetry: m.RetryHook(),
	})
	if err := s.Put(t.Context(), "k", strings.NewReader("v"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	expect(t, reg, `
# HELP cairn_blob_retries_total Storage operations retried after a transient failure.
# TYPE cairn_blob_retries_total counter
cairn_blob_retries_total{backend="mem",op="delete"} 0
cairn_blob_retries_total{backend="mem",op="get"} 0
cairn_blob_retries_total{backend="mem",op="list"} 0
cairn_blob_retries_total{backend="mem",op="put"} 2
cairn_blob_retries_total{backend="mem",op="stat"} 1
`, retriesName)
	for _, tc := range []struct {
		op, result string
		want       float64
	}{{"put", "error", 2}, {"put", "ok", 1}, {"stat", "error", 1}, {"stat", "ok", 1}} {
		if got := value(t, reg, opsName, "mem", tc.op, tc.result); got != tc.want {
			t.Errorf("%s %s = %v, want %v", tc.op, tc.result, got, tc.want)
		}
	}
}

func TestDoubleRegistration(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	a, err := metrics.New(memory.New(), reg, "mem")
	if err != nil {
		t.Fatal(err)
	}
	b, err := metrics.New(memory.New(), reg, "mem")
	if err != nil {
		t.Fatalf("second New with the same registry: %v", err)
	}
	c, err := metrics.New(memory.New(), reg, "file")
	if err != nil {
		t.Fatalf("third New with the same registry: %v", err)
	}
	for _, s := range []blob.Storage{a, b, c} {
		if _, err := s.Stat(t.Context(), "missing"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatal(err)
		}
	}
	if got := value(t, reg, opsName, "mem", "stat", "not_found"); got != 2 {
		t.Errorf(`stat not_found for backend "mem" = %v, want 2, shared by both Storages`, got)
	}
	if got := value(t, reg, opsName, "file", "stat", "not_found"); got != 1 {
		t.Errorf(`stat not_found for backend "file" = %v, want 1`, got)
	}
	if n, err := testutil.GatherAndCount(reg, opsName); err != nil || n != 2*5*4 {
		t.Errorf("%s has %d series (%v), want 40", opsName, n, err)
	}
}

func TestConflictingRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: opsName, Help: "something else"}))
	if _, err := metrics.New(memory.New(), reg, "mem"); err == nil {
		t.Error("New over a conflicting collector succeeded")
	}
	if _, err := metrics.New(memory.New(), nil, "mem"); err == nil {
		t.Error("New with a nil registerer succeeded")
	}
}

// value returns the counter of name with the labels backend, op and, if not "", result.
func value(t *testing.T, reg prometheus.Gatherer, name, backend, op, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"backend": backend, "op": op, "result": result}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("no %s series for %v", name, want)
	return 0
}
