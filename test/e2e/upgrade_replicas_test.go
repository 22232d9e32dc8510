//go:build e2e

package e2e

import (
	"context"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/pgtest"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// TestRollingUpgradeFromThePreviousRelease runs two replicas of the previous release
// (PREVIOUS_REPLICA_RELEASE, hack/build-previous-release.sh) on one PostgreSQL database behind the
// balancer, with an agent and a Backup center session through it, and upgrades them one at a time
// to this checkout's vault: the first new replica migrates the database while the old one serves
// beside it; a backup and a restore run while the versions are mixed, the second replica is
// upgraded under the restore, and the session made before the upgrade works on every replica
// throughout, as does one made on a new replica on the old one.
func TestRollingUpgradeFromThePreviousRelease(t *testing.T) {
	ctx := t.Context()
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	previous := bins.PreviousCairn()
	if _, err := os.Stat(previous); err != nil {
		t.Fatalf("the previous release's cairn (%s) is not built: make previous-release: %v", bins.PreviousReplicaRelease, err)
	}
	rs := startReplicasOf(t, pgtest.Start(t), []string{previous, previous})
	v, token := rs.behindBalancer()
	admin := v.admin
	k8s := clientOf(t, cluster)
	all := []int{0, 1}

	const ns = "upgrade-a"
	createNamespace(ctx, t, k8s, ns)
	t.Cleanup(func() { deleteNamespace(context.Background(), t, k8s, ns) })
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns}, Data: map[string]string{"release": "previous"}}
	if _, err := k8s.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	v.register(t, "upgraded", restConfigOf(t, cluster), secretsDir(t))
	if _, err := admin.CreatePolicy(ctx, policy.Policy{Name: "daily", Schedule: policy.Schedule{DailyAt: "03:00"},
		Retention: policy.Retention{Default: policy.Duration(7 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: ns, Cluster: "upgraded", Policy: "daily",
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}},
		Storage: vaultv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: agentSecret}}); err != nil {
		t.Fatal(err)
	}
	backUp := func(when string) {
		t.Helper()
		job, err := admin.BackupNow(ctx, ns, vaultv1.BackupNowRequest{})
		if err != nil {
			t.Fatalf("%s: back up now: %v", when, err)
		}
		if j := v.waitJob(t, job.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
			t.Fatalf("%s: backup %d: %s %s", when, j.ID, j.State, j.Error)
		}
	}
	backUp("on the previous release")

	old := testenv.SignInToCenter(t, v.url, token)
	rs.sessionEverywhere("on the previous release", old)

	// Replica 0 upgraded: it migrates the database while replica 1, of the previous release, serves.
	rs.upgrade(0)
	rs.leader(all...)
	rs.sessionEverywhere("with the versions mixed", old)
	made := testenv.SignInToCenter(t, "http://"+rs.addrs[0], token)
	rs.sessionEverywhere("a session made on the new replica, with the versions mixed", made)
	backUp("with the versions mixed")

	points := v.recoveryPoints(t, ns)
	if len(points) != 2 {
		t.Fatalf("recovery points of %s: %v", ns, names(points))
	}
	job, err := admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: names(points)[0],
		Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{ns: ns + "-copy"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(context.Background(), t, k8s, ns+"-copy") })
	waitFor(t, time.Minute, "the restore to run", func() bool {
		j, err := admin.GetJob(ctx, job.ID)
		return err == nil && j.State != vaultv1.JobQueued
	})
	rs.upgrade(1)
	if j := v.waitJob(t, job.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("the restore across the upgrade: %+v", j)
	}
	if cm, err := k8s.CoreV1().ConfigMaps(ns+"-copy").Get(ctx, "settings", metav1.GetOptions{}); err != nil || cm.Data["release"] != "previous" {
		t.Fatalf("restored ConfigMap: %v, %v", cm, err)
	}
	rs.leader(all...)
	rs.sessionEverywhere("after the upgrade", old)
	rs.sessionEverywhere("after the upgrade", made)
	backUp("after the upgrade")
}
