//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// TestVaultRecoversItsCatalogueFromStorage loses a vault's database: a new vault, with the
// cluster registered and the instance created again on the same storage, reconciles the
// instance through its real agent, finds the recovery points the first vault made, and restores
// from one of them.
func TestVaultRecoversItsCatalogueFromStorage(t *testing.T) {
	ctx := t.Context()
	const ns = "recover-app"
	src := clientOf(t, cluster)
	createNamespace(ctx, t, src, ns)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns}, Data: map[string]string{"greeting": "hello"}}
	if _, err := src.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	storage := vaultv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: agentSecret}
	protect := func(v *testVault) {
		t.Helper()
		if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "daily", Schedule: policy.Schedule{DailyAt: "03:00"},
			Retention: policy.Retention{Default: policy.Duration(30 * 24 * time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: ns, Cluster: "source", Policy: "daily",
			Backup: vaultv1.BackupConfig{IncludeNamespaces: []string{ns}}, Storage: storage}); err != nil {
			t.Fatal(err)
		}
	}
	secrets := secretsDir(t)

	// The first vault makes two recovery points, then its database is lost (its agent stops).
	first := startVault(t, "")
	_, stopFirst := first.register(t, "source", restConfigOf(t, cluster), secrets)
	protect(first)
	var made []string
	for range 2 {
		job, err := first.admin.BackupNow(ctx, ns, vaultv1.BackupNowRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if j := first.waitJob(t, job.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
			t.Fatalf("backup: %+v", j)
		}
		made = append(made, job.Spec.Backup.RecoveryPoint)
		time.Sleep(time.Second) // recovery points are named to the second
	}
	stopFirst()

	// A new vault, the cluster and the instance made again: its catalogue is empty until the
	// instance is reconciled.
	second := startVault(t, "")
	second.register(t, "source", restConfigOf(t, cluster), secrets)
	protect(second)
	if rps := second.recoveryPoints(t, ns); len(rps) != 0 {
		t.Fatalf("a new vault knows recovery points %v", names(rps))
	}
	job, err := second.admin.ReconcileInstance(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if j := second.waitJob(t, job.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded || j.Kind != agentv1.KindInventory {
		t.Fatalf("inventory: %+v", j)
	}
	got := names(second.recoveryPoints(t, ns))
	slices.Sort(got)
	if !slices.Equal(got, made) {
		t.Fatalf("recovered %v, want %v", got, made)
	}
	logs, err := second.admin.JobLogs(ctx, job.ID, client.LogFilter{})
	if err != nil || !slices.ContainsFunc(logs.Items, func(l vaultv1.LogLine) bool {
		return strings.HasPrefix(l.Message, "recovered recovery point "+made[1]+" from storage")
	}) {
		t.Errorf("the inventory's log does not name what it recovered: %+v %v", logs.Items, err)
	}

	// Restore from a recovered point, into another namespace.
	clone := ns + "-back"
	restore, err := second.admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: made[1],
		Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{ns: clone}}})
	if err != nil {
		t.Fatal(err)
	}
	if j := second.waitJob(t, restore.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("restore from a recovered point: %+v", j)
	}
	t.Cleanup(func() { deleteNamespace(context.Background(), t, src, clone) })
	if got, err := src.CoreV1().ConfigMaps(clone).Get(ctx, "settings", metav1.GetOptions{}); err != nil || got.Data["greeting"] != "hello" {
		t.Fatalf("restored configmap: %+v %v", got, err)
	}
}
