//go:build integration

package integration

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/fault"
	"github.com/cairnbackup/cairn/internal/blob/filesystem"
	"github.com/cairnbackup/cairn/internal/blob/metrics"
	"github.com/cairnbackup/cairn/internal/blob/retry"
	"github.com/cairnbackup/cairn/internal/scope"
)

// TestBackupSurvivesStorageFaults backs up through storage that answers with bursts of 5xx
// errors, drops connections halfway through uploads and answers slowly: the backup completes
// intact, and the retries show in the metrics.
func TestBackupSurvivesStorageFaults(t *testing.T) {
	ctx := t.Context()
	client, err := source.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "faults"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%03d", i), Namespace: "faults"}, Data: map[string]string{"k": "v"}}
		if _, err := client.CoreV1().ConfigMaps("faults").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	unavailable := &blob.RetryableError{Err: errors.New("503 Service Unavailable")}
	reset := &blob.RetryableError{Err: errors.New("read tcp 127.0.0.1:7070: connection reset by peer")}
	faulty := fault.New(fs,
		fault.Fault{Op: "put", KeyPrefix: "backups/", Times: 3, Err: unavailable},
		fault.Fault{Op: "put", KeyPrefix: "backups/faulty/packs/", Times: 1, Err: reset, AfterBytes: 100},
		fault.Fault{Op: "list", Times: 2, Err: unavailable},
		fault.Fault{Op: "get", Times: 2, Err: unavailable, Delay: 200 * time.Millisecond},
	)
	reg := prometheus.NewRegistry()
	measured, err := metrics.New(faulty, reg, "faulty")
	if err != nil {
		t.Fatal(err)
	}
	st := retry.New(measured, retry.Options{Initial: time.Millisecond, Max: 20 * time.Millisecond, OnRetry: measured.RetryHook()})

	cred := archive.Credential{Passphrase: []byte(testPassphrase)}
	repo, err := archive.Init(ctx, st, cred, archive.InitOptions{Encrypt: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := source.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scope.New(scope.Spec{IncludedNamespaces: []string{"faults"}})
	if err != nil {
		t.Fatal(err)
	}
	rp, err := backup.Run(ctx, cfg, repo, backup.Options{Name: "faulty", Scope: sc})
	if err != nil {
		t.Fatal(err)
	}
	if rp.Result.Phase != archive.PhaseCompleted || rp.Result.Items < 200 {
		t.Fatalf("backup through faults: %s, %d items, errors %v", rp.Result.Phase, rp.Result.Items, rp.Result.Errors)
	}
	rep, err := repo.Verify(ctx, "faulty")
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("verify: %v %v", err, rep.Problems)
	}
	var retries float64
	for _, op := range []string{"put", "list", "get"} {
		retries += retriesOf(t, reg, op)
	}
	if retries < 5 {
		t.Fatalf("retries counted in metrics: %v, want at least 5", retries)
	}
	t.Logf("backup completed through %v retries (put calls %d, get calls %d)", retries, faulty.Calls("put"), faulty.Calls("get"))
}

// retriesOf reads cairn_blob_retries_total{backend="faulty",op=op} from the registry.
func retriesOf(t *testing.T, reg *prometheus.Registry, op string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "cairn_blob_retries_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["backend"] == "faulty" && labels["op"] == op {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no cairn_blob_retries_total for op %s", op)
	return 0
}
