//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/pgtest"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/testenv"
	"github.com/cairnbackup/cairn/internal/vault/api"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// TestVaultProtectsAndRestores is the vault's whole story against real clusters, once with the
// vault on SQLite and once on PostgreSQL: an agent per cluster, a policy whose hourly schedule
// makes recovery points on time (the vault's clock is moved ahead), retention deleting the right
// ones (first of the day kept, keep-last guard), restore to the original cluster after a
// namespace is deleted, restore to an alternate cluster with namespace mapping (the dev/test
// clone), stop protection keeping the data and then deleting it.
func TestVaultProtectsAndRestores(t *testing.T) {
	ctx := t.Context()
	target, err := testenv.StartCluster(ctx, "e2e-alt", testenv.ControlPlane)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := testenv.StopCluster(context.Background(), target); err != nil {
			t.Error(err)
		}
	})
	t.Run("sqlite", func(t *testing.T) { vaultScenario(t, "", target, "vlite") })
	t.Run("postgres", func(t *testing.T) { vaultScenario(t, pgtest.Start(t), target, "vpg") })
}

func vaultScenario(t *testing.T, database string, target *localcluster.Cluster, ns string) {
	ctx := t.Context()
	v := startVault(t, database)
	secrets := secretsDir(t)
	v.register(t, "source", restConfigOf(t, cluster), secrets)
	v.register(t, "alternate", restConfigOf(t, target), secrets)

	src := clientOf(t, cluster)
	createNamespace(ctx, t, src, ns)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns}, Data: map[string]string{"greeting": "hello"}}
	if _, err := src.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	day := policy.Duration(24 * time.Hour)
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "hourly", Schedule: policy.Schedule{EveryHours: 1},
		Retention: policy.Retention{Default: day, Daily: 7 * day, KeepLast: 2}}); err != nil {
		t.Fatal(err)
	}
	storage := "file://" + t.TempDir()
	in, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: ns, Cluster: "source", Policy: "hourly",
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}},
		Storage: vaultv1.StorageLocation{URL: storage, PassphraseSecret: agentSecret}})
	if err != nil {
		t.Fatal(err)
	}
	if in.NextBackup == nil {
		t.Fatalf("instance without a next backup: %+v", in)
	}

	// The schedule: at each top of the hour one recovery point, named for it. The clock goes to
	// 01:00 UTC tomorrow first (the runs missed meanwhile collapse into that one), so the three
	// hourly points share a day.
	now := v.clock.now().UTC()
	hour := time.Date(now.Year(), now.Month(), now.Day()+1, 1, 0, 0, 0, time.UTC)
	var made []string
	for i := 0; i < 3; i++ {
		v.clock.advanceTo(hour.Add(time.Duration(i)*time.Hour + time.Second))
		rps := v.waitRecoveryPoints(t, ns, i+1)
		name := fmt.Sprintf("%s-%s", ns, hour.Add(time.Duration(i)*time.Hour).UTC().Format("20060102150405"))
		rp, ok := rps[name]
		if !ok || rp.Phase != archive.PhaseCompleted || rp.Items == 0 || rp.Cluster != "source" {
			t.Fatalf("after hour %d: %v", i, names(rps))
		}
		made = append(made, name)
	}

	// Disaster: the namespace is deleted; restore it into the original cluster.
	deleteNamespace(ctx, t, src, ns)
	job, err := v.admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: made[2]})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, job.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded || j.Result == nil || j.Result.Restore == nil || j.Result.Restore.Created == 0 {
		t.Fatalf("restore to the original cluster: %+v", j)
	}
	got, err := src.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil || got.Data["greeting"] != "hello" {
		t.Fatalf("restored configmap: %+v %v", got, err)
	}

	// Clone into the alternate cluster under another namespace, dry run first.
	clone := ns + "-dev"
	dry, err := v.admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: made[2], TargetCluster: "alternate",
		Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{ns: clone}, DryRun: true}})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, dry.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded || j.Result == nil || !hasCheck(j.Result.Checks, "permissions") {
		t.Fatalf("dry run: %+v", j)
	}
	alt := clientOf(t, target)
	if _, err := alt.CoreV1().Namespaces().Get(ctx, clone, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the dry run created namespace %s: %v", clone, err)
	}
	job, err = v.admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: made[2], TargetCluster: "alternate",
		Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{ns: clone}}})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, job.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("restore to the alternate cluster: %+v", j)
	}
	if got, err := alt.CoreV1().ConfigMaps(clone).Get(ctx, "settings", metav1.GetOptions{}); err != nil || got.Data["greeting"] != "hello" {
		t.Fatalf("cloned configmap: %+v %v", got, err)
	}

	// Two days later (the vault was down): one backup for the missed runs, and retention: the
	// first of the day is kept 7 days, the default 1d has passed for the others, and the
	// keep-last-2 guard keeps the newest old one.
	v.clock.advance(48 * time.Hour)
	v.waitHealthy(t, "source")
	made = append(made, fmt.Sprintf("%s-%s", ns, hour.Add(50*time.Hour).Format("20060102150405")))
	waitFor(t, 90*time.Second, "the backup after the downtime", func() bool {
		_, ok := v.recoveryPoints(t, ns)[made[3]]
		return ok
	})
	rps := v.waitRecoveryPoints(t, ns, 3)
	if _, ok := rps[made[0]]; !ok {
		t.Errorf("first of the day deleted: %v", names(rps))
	}
	if _, ok := rps[made[1]]; ok {
		t.Errorf("%s outlived its retention: %v", made[1], names(rps))
	}
	if _, ok := rps[made[2]]; !ok {
		t.Errorf("keep-last guard did not keep %s: %v", made[2], names(rps))
	}
	inRepo := repositoryBackups(t, storage)
	if inRepo[made[1]] || !inRepo[made[0]] || !inRepo[made[2]] {
		t.Errorf("repository after retention: %v", inRepo)
	}
	deletions, err := v.admin.ListJobs(ctx, client.JobFilter{Kind: agentv1.KindRetentionDelete, Instance: ns})
	if err != nil || len(deletions.Items) != 1 || deletions.Items[0].State != vaultv1.JobSucceeded {
		t.Errorf("retention jobs: %+v %v", deletions, err)
	}

	// Stop protection keeping the data: no more backups, the points stay.
	if _, err := v.admin.StopInstance(ctx, ns, vaultv1.StopRequest{}); err != nil {
		t.Fatal(err)
	}
	v.clock.advance(3 * time.Hour)
	time.Sleep(2 * time.Second) // a few scheduler ticks
	if rps := v.waitRecoveryPoints(t, ns, 3); len(rps) != 3 {
		t.Fatalf("stopped instance: %v", names(rps))
	}
	// Stop deleting the data: every point is kept as deleted for the soft-delete days, then
	// purged from the vault and the repository; then the instance can be deleted.
	if _, err := v.admin.StopInstance(ctx, ns, vaultv1.StopRequest{DeleteData: true}); err != nil {
		t.Fatal(err)
	}
	v.waitRecoveryPoints(t, ns, 0)
	softDeleted := func() int {
		list, err := v.admin.ListRecoveryPoints(ctx, client.RecoveryPointFilter{Instance: ns, Deleted: true})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.Items)
	}
	if n := softDeleted(); n != 3 {
		t.Fatalf("%d points kept as deleted, want 3", n)
	}
	v.clock.advance((api.DefaultSoftDeleteDays + 1) * 24 * time.Hour)
	waitFor(t, 2*time.Minute, "the purge of the deleted points", func() bool { return softDeleted() == 0 })
	for name, complete := range repositoryBackups(t, storage) {
		t.Errorf("left in the repository: %s (complete %v)", name, complete)
	}
	if err := v.admin.DeleteInstance(ctx, ns); err != nil {
		t.Fatal(err)
	}
	deleteNamespace(ctx, t, src, ns)
}

func hasCheck(checks []vaultv1.Check, name string) bool {
	for _, c := range checks {
		if c.Name == name && c.OK {
			return true
		}
	}
	return false
}
