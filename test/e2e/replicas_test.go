//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/pgtest"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/testenv"
	"github.com/cairnbackup/cairn/internal/vault"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// TestReplicasBehindABalancer runs three vault replicas as processes on one PostgreSQL database
// behind a round-robin balancer, with two agents and a Backup center session going through it.
// The leader is killed (SIGKILL) a second before the top of the hour: another replica takes over
// and queues each due backup exactly once, and they run. Then a restore runs while replicas are
// restarted under it, and succeeds; the session works on every replica throughout, as does one
// signed in in Chromium, before the kill and after the restarts.
func TestReplicasBehindABalancer(t *testing.T) {
	ctx := t.Context()
	rs := startReplicas(t, 3, pgtest.Start(t))
	v, token := rs.behindBalancer()
	admin := v.admin
	k8s := clientOf(t, cluster)

	// Ten minutes past an hour, so that the instances made now are first due at the next one.
	offset := time.Until(time.Now().Truncate(time.Hour).Add(time.Hour + 10*time.Minute))
	rs.setOffset(offset)
	secrets := secretsDir(t)
	if _, err := admin.CreatePolicy(ctx, policy.Policy{Name: "hourly", Schedule: policy.Schedule{EveryHours: 1},
		Retention: policy.Retention{Default: policy.Duration(24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	instances := map[string]string{"rep-a": "east", "rep-b": "west"}
	for ns, clusterName := range instances {
		createNamespace(ctx, t, k8s, ns)
		t.Cleanup(func() { deleteNamespace(context.Background(), t, k8s, ns) })
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns}, Data: map[string]string{"replicas": "3"}}
		if _, err := k8s.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		v.register(t, clusterName, restConfigOf(t, cluster), secrets)
		if _, err := admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: ns, Cluster: clusterName, Policy: "hourly",
			Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}},
			Storage: vaultv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: agentSecret}}); err != nil {
			t.Fatal(err)
		}
	}

	// A session started through the balancer is good on every replica.
	cookie := testenv.SignInToCenter(t, v.url, token)
	rs.sessionEverywhere("at start", cookie)
	// And one in Chromium, signed in through the balancer, then opened on every replica.
	browserState := filepath.Join(t.TempDir(), "browser-state.json")
	rs.inBrowser(v.url, browserState, token)

	// Half a minute before the next hour, one replica leads; it is killed a second before it.
	hour := time.Now().Add(offset).Truncate(time.Hour).Add(time.Hour)
	offset = time.Until(hour.Add(-30 * time.Second))
	rs.setOffset(offset)
	all := []int{0, 1, 2}
	killed := rs.leader(all...)
	time.Sleep(time.Until(hour.Add(-time.Second).Add(-offset)))
	rs.signal(killed, syscall.SIGKILL)
	var live []int
	for _, i := range all {
		if i != killed {
			live = append(live, i)
		}
	}
	next := rs.leader(live...)
	t.Logf("replica %d led and was killed at %s (the vault's clock); replica %d leads now", killed, hour.Add(-time.Second).Format(time.TimeOnly), next)

	scheduled := func() []vaultv1.Job {
		t.Helper()
		list, err := admin.ListJobs(ctx, client.JobFilter{Kind: agentv1.KindBackup, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []vaultv1.Job
		for _, j := range list.Items {
			if j.Trigger == "scheduled" {
				out = append(out, j)
			}
		}
		return out
	}
	waitFor(t, 2*time.Minute, "the hour's backups to run", func() bool {
		jobs := scheduled()
		done := 0
		for _, j := range jobs {
			if j.State == vaultv1.JobSucceeded {
				done++
			}
		}
		return done == len(instances)
	})
	time.Sleep(3 * time.Second) // a few ticks more: nothing is queued twice
	perInstance := map[string]int{}
	for _, j := range scheduled() {
		perInstance[j.Instance]++
		if j.State != vaultv1.JobSucceeded {
			t.Errorf("scheduled backup %d of %s: %s %s", j.ID, j.Instance, j.State, j.Error)
		}
	}
	for ns := range instances {
		if perInstance[ns] != 1 {
			t.Errorf("instance %s: %d scheduled backups for the hour, want exactly 1 (%v)", ns, perInstance[ns], perInstance)
		}
	}
	rs.sessionEverywhere("after the leader was killed", cookie)

	// A restore runs while the replicas are restarted one after the other under it.
	points := v.recoveryPoints(t, "rep-a")
	if len(points) != 1 {
		t.Fatalf("recovery points of rep-a: %v", names(points))
	}
	job, err := admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: names(points)[0],
		Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{"rep-a": "rep-a-copy"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(context.Background(), t, k8s, "rep-a-copy") })
	waitFor(t, time.Minute, "the restore to run", func() bool {
		j, err := admin.GetJob(ctx, job.ID)
		return err == nil && j.State != vaultv1.JobQueued
	})
	rs.start(killed)
	for _, i := range live {
		rs.restart(i)
	}
	if j := v.waitJob(t, job.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("the restore across restarts: %+v", j)
	}
	if cm, err := k8s.CoreV1().ConfigMaps("rep-a-copy").Get(ctx, "settings", metav1.GetOptions{}); err != nil || cm.Data["replicas"] != "3" {
		t.Fatalf("restored ConfigMap: %v, %v", cm, err)
	}
	rs.leader(all...)
	rs.sessionEverywhere("after every replica restarted", cookie)
	rs.inBrowser(v.url, browserState, "")
}

// firstTokenOf reads the first contributor token, which one of the replicas wrote to its data dir.
func firstTokenOf(t *testing.T, rs *replicaSet) string {
	t.Helper()
	var token string
	for _, dir := range rs.dataDirs {
		data, err := os.ReadFile(filepath.Join(dir, vault.AdminTokenFile))
		if err != nil {
			continue
		}
		if token != "" {
			t.Fatal("two replicas wrote a first token")
		}
		token = strings.TrimSpace(string(data))
	}
	if token == "" {
		t.Fatal("no replica wrote the first token")
	}
	return token
}
