//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// TestAgentKilledMidBackup kills the agent process (SIGKILL) while a backup waits in its
// post-hook, after the objects were written and before the manifest: the vault notices the lease
// running out, fails the job and queues a retry; a new agent deletes the incomplete recovery
// point and makes a complete one under a new name. Nothing that looks complete is left from the
// killed attempt.
func TestAgentKilledMidBackup(t *testing.T) {
	ctx := t.Context()
	ns := "vkill"
	createNamespace(ctx, t, clientOf(t, cluster), ns)
	hookPod(ctx, t, ns, "app", "main", 0)
	applyYAML(t, `apiVersion: clusterbackup.dataprotection.microsoft.com/v1alpha1
kind: BackupHook
metadata: {name: slow, namespace: vkill}
spec:
  backupHook:
  - name: slow-once
    includedNamespaces: [vkill]
    postHooks:
    - exec:
        container: main
        command: [sh, -c, "[ -f /tmp/slept ] || { touch /tmp/slept; sleep 120; }"]
        timeout: 5m
`)

	v := startVault(t, "")
	grant, err := v.admin.RegisterCluster(ctx, vaultv1.ClusterRegistration{Name: "source"})
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(grant.AgentToken), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := secretsDir(t)
	agentProc := exec.Command(cairnBinary(t), "agent", "run", "--vault", v.url, "--token-file", tokenFile,
		"--secrets-dir", secrets, "--kubeconfig", cluster.State.Kubeconfig)
	agentProc.Stdout, agentProc.Stderr = testWriter{t, "agent process"}, testWriter{t, "agent process"}
	if err := agentProc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agentProc.Process.Kill(); _ = agentProc.Wait() })
	v.waitHealthy(t, "source")

	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "daily", Schedule: policy.Schedule{DailyAt: "03:00"},
		Retention: policy.Retention{Default: policy.Duration(30 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	storage := "file://" + t.TempDir()
	if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: ns, Cluster: "source", Policy: "daily",
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}, BackupHooks: []string{"vkill/slow"}},
		Storage: vaultv1.StorageLocation{URL: storage, PassphraseSecret: agentSecret}}); err != nil {
		t.Fatal(err)
	}
	first, err := v.admin.BackupNow(ctx, ns, vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the post-hook to start", func() bool { return fileIn(ctx, t, ns, "app", "main", "/tmp/slept") })
	if err := agentProc.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = agentProc.Wait()

	failed := v.waitJob(t, first.ID, 30*time.Second)
	if failed.State != vaultv1.JobFailed || !strings.Contains(failed.Error, "stopped reporting") {
		t.Fatalf("killed job: %+v", failed)
	}
	if complete, ok := repositoryBackups(t, storage)[first.Spec.Backup.RecoveryPoint]; !ok || complete {
		t.Fatalf("the killed backup should have left an incomplete recovery point: present %v, complete %v", ok, complete)
	}
	retries, err := v.admin.ListJobs(ctx, client.JobFilter{Instance: ns, State: vaultv1.JobQueued})
	if err != nil || len(retries.Items) != 1 || retries.Items[0].Attempt != 2 || retries.Items[0].Trigger != "retry" {
		t.Fatalf("retry: %+v %v", retries, err)
	}
	retry := retries.Items[0]

	v.runAgent(t, "source", grant.AgentToken, restConfigOf(t, cluster), secrets)
	if j := v.waitJob(t, retry.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("retry: %+v", j)
	}
	rps := v.recoveryPoints(t, ns)
	if _, ok := rps[retry.Spec.Backup.RecoveryPoint]; len(rps) != 1 || !ok {
		t.Fatalf("recovery points: %v", names(rps))
	}
	inRepo := repositoryBackups(t, storage)
	if _, ok := inRepo[first.Spec.Backup.RecoveryPoint]; ok || !inRepo[retry.Spec.Backup.RecoveryPoint] {
		t.Fatalf("repository: %v", inRepo)
	}
	deleteNamespace(ctx, t, clientOf(t, cluster), ns)
}
