package blobopen

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/fault"
	"github.com/cairnbackup/cairn/internal/blob/memory"
)

// TestOpenWithMetrics: a storage opened with a registry records its operations labelled with the
// URL's scheme, and one without records nothing.
func TestOpenWithMetrics(t *testing.T) {
	ctx := t.Context()
	reg := prometheus.NewPedanticRegistry()
	st, err := OpenWith(ctx, "file://"+filepath.ToSlash(t.TempDir()), noEnvironment, Options{Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "k", strings.NewReader("value"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, "missing"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat = %v", err)
	}
	// A second storage on the same registry shares its collectors.
	mem, err := OpenWith(ctx, "mem://", noEnvironment, Options{Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := mem.Put(ctx, "k", strings.NewReader("v"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"file", "put", "ok"}, 1},
		{[]string{"file", "stat", "not_found"}, 1},
		{[]string{"mem", "put", "ok"}, 1},
		{[]string{"mem", "stat", "not_found"}, 0},
	} {
		if got := value(t, reg, "cairn_blob_operations_total", c.labels...); got != c.want {
			t.Errorf("cairn_blob_operations_total%v = %v, want %v", c.labels, got, c.want)
		}
	}
	if got := value(t, reg, "cairn_blob_bytes_total", "file", "put"); got != 5 {
		t.Errorf("file put bytes = %v, want 5", got)
	}

	plain, err := Open(ctx, "mem://", noEnvironment)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := plain.(*memory.Storage); !ok {
		t.Errorf("Open without metrics wraps the backend: %T", plain)
	}
}

// TestRemoteRetriesCounted: the retry decorator of a remote store sits above the metrics, so each
// failed attempt is an error and each retry is counted.
func TestRemoteRetriesCounted(t *testing.T) {
	ctx := t.Context()
	reg := prometheus.NewPedanticRegistry()
	flaky := fault.New(memory.New(), fault.Fault{Op: "put", Times: 2, Err: &blob.RetryableError{Err: errors.New("503 slow down")}})
	st, err := Options{Metrics: reg}.wrap(flaky, "s3", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "k", strings.NewReader("v"), blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		labels []string
		want   float64
	}{
		"cairn_blob_operations_total": {[]string{"s3", "put", "error"}, 2},
		"cairn_blob_retries_total":    {[]string{"s3", "put"}, 2},
	} {
		if got := value(t, reg, name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", name, c.labels, got, c.want)
		}
	}
	if got := value(t, reg, "cairn_blob_operations_total", "s3", "put", "ok"); got != 1 {
		t.Errorf("successful puts = %v, want 1", got)
	}
}

// value is the value of a counter's series, by its label values sorted by label name.
func value(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var got []string
			for _, l := range m.GetLabel() {
				got = append(got, l.GetValue())
			}
			if slices.Equal(got, labels) {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

func noEnvironment(string) string { return "" }
