//go:build e2e

package e2e

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
)

// TestVaultTestRestores: through a real vault, agent and cluster, a scheduled test restore of an
// instance with a CSI volume restores its newest good point into a scratch namespace, finds the
// claim bound, the pod Ready and the check command (sha256sum -c, run without a shell) passing,
// deletes the scratch namespace and leaves the source untouched; a broken check command fails
// the test restore on demand, and the failure is sent to a webhook.
func TestVaultTestRestores(t *testing.T) {
	ctx := t.Context()
	ns := "vtest"
	deployWriter(ctx, t, ns)
	client := clientOf(t, cluster)
	source, err := client.CoreV1().Pods(ns).Get(ctx, "writer", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hook := &hookLog{}
	srv := httptest.NewServer(hook)
	defer srv.Close()

	v := startVault(t, "")
	t.Cleanup(func() {
		if t.Failed() {
			logJobs(t, v, "proven")
			logJobs(t, v, "broken")
		}
	})
	v.register(t, "tested", restConfigOf(t, cluster), secretsDir(t))
	if _, err := v.admin.CreateNotificationRule(ctx, vaultv1.NotificationRule{Name: "ops", Events: []string{vaultv1.EventTestRestoreFailed},
		Channel: vaultv1.NotificationChannel{Type: vaultv1.ChannelWebhook, URL: srv.URL}}); err != nil {
		t.Fatal(err)
	}
	week := policy.Duration(7 * 24 * time.Hour)
	day := policy.Duration(24 * time.Hour)
	for name, command := range map[string][]string{"proven": {"sha256sum", "-c", "/data/blob.sha256"}, "broken": {"sha256sum", "-c", "/data/missing.sha256"}} {
		if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: name, Schedule: policy.Schedule{DailyAt: "03:00"}, Retention: policy.Retention{Default: week},
			TestRestore: &policy.TestRestore{Every: day, ReadyTimeout: policy.Duration(3 * time.Minute),
				Checks: []policy.TestRestoreCheck{{Namespace: ns, Selector: "app=writer", Container: "app", Command: command}}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: name, Cluster: "tested", Policy: name,
			Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}, SnapshotVolumes: true},
			Storage: vaultv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: agentSecret}}); err != nil {
			t.Fatal(err)
		}
		j, err := v.admin.BackupNow(ctx, name, vaultv1.BackupNowRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if j := v.waitJob(t, j.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
			t.Fatalf("backup of %s: %+v", name, j)
		}
	}

	// The broken one on demand: the restore works, the check command fails, a webhook hears it.
	j, err := v.admin.TestRestoreInstance(ctx, "broken", vaultv1.TestRestoreRequest{})
	if err != nil {
		t.Fatal(err)
	}
	broken := v.waitJob(t, j.ID, 5*time.Minute)
	wantChecks(t, "broken", vaultv1.Validation{Checks: broken.Result.Checks}, map[string]string{
		"restore": "object(s) restored", "pods-ready": "1 pod(s) ready", "!check-1": "exited 1", "cleanup": "deleted the scratch namespaces"})
	if broken.State != vaultv1.JobFailed {
		t.Errorf("broken test restore %s: %s", broken.State, broken.Error)
	}
	waitFor(t, 30*time.Second, "the failed test restore's notification", func() bool { return hook.count("test-restore-failed broken") == 1 })

	// A day later the scheduler test-restores "proven".
	v.clock.advance(25 * time.Hour)
	var last *vaultv1.TestRestoreStatus
	waitFor(t, 5*time.Minute, "the scheduled test restore of proven", func() bool {
		in, err := v.admin.GetInstance(ctx, "proven")
		last = in.LastTestRestore
		return err == nil && last != nil && (last.State == vaultv1.JobSucceeded || last.State == vaultv1.JobFailed)
	})
	if last.State != vaultv1.JobSucceeded || last.TookSeconds <= 0 || last.Cluster != "tested" {
		t.Fatalf("proven: %+v", last)
	}
	wantChecks(t, "proven", vaultv1.Validation{Checks: last.Checks}, map[string]string{
		"restore": "object(s) restored into ct-", "volumes": "1 claim(s) bound", "pods-ready": "1 pod(s) ready",
		"check-1": `"sha256sum -c /data/blob.sha256" exited 0 in writer`, "cleanup": "deleted the scratch namespaces ct-"})
	tj, err := v.admin.GetJob(ctx, last.JobID)
	if err != nil || tj.Trigger != "scheduled" {
		t.Fatalf("the test restore's job: %+v, %v", tj, err)
	}
	scratch := tj.Spec.TestRestore.Restore.Options.NamespaceMapping[ns]
	waitFor(t, 3*time.Minute, "the scratch namespace "+scratch+" to go", func() bool {
		_, err := client.CoreV1().Namespaces().Get(ctx, scratch, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	after, err := client.CoreV1().Pods(ns).Get(ctx, "writer", metav1.GetOptions{})
	if err != nil || after.UID != source.UID || !strings.HasPrefix(scratch, "ct-") {
		t.Errorf("the source pod after the test restores: %v (uid %s, was %s)", err, after.UID, source.UID)
	}
}
