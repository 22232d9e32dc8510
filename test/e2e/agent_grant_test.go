//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/vault"
)

// TestAgentBackupOnlyGrant registers a cluster with the backup-only grant and installs the agent
// with `cairn agent install --grant backup-only`, in its pod as its ServiceAccount: a backup with a
// hook (pods/exec), volume snapshots and a copy of the volume's data (the data mover's pod, claim
// and Secret in the agent's namespace, through its Role) succeeds, and so does the instance's
// validation, which says restores need the restore grant. A restore stops at its permissions
// pre-flight check, naming `cairn agent grant-restore`; after it, the same restore brings the data
// back; `cairn agent revoke-restore` takes the grant back, and uninstall leaves nothing.
func TestAgentBackupOnlyGrant(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	began := time.Now()
	step := func(what string) { t.Logf("%s: %s", what, time.Since(began).Round(100*time.Millisecond)) }

	dir := t.TempDir()
	agentImageIn(t, cluster)
	const ns = "grant-app"
	sum := deployWriter(ctx, t, ns)
	step("agent image imported, writer running")

	// The agent in its pod reports progress every 5 s (its default), longer than the e2e vault's
	// lease, which in-process agents renew every second.
	v := startVault(t, "", func(o *vault.Options) { o.API.Lease = 30 * time.Second })
	grant, err := v.admin.RegisterCluster(ctx, vaultv1.ClusterRegistration{Name: "backup-only", Grant: trustgrant.GrantBackupOnly})
	if err != nil {
		t.Fatal(err)
	}
	if grant.Grant != trustgrant.GrantBackupOnly || !strings.Contains(grant.Manifest, "kind: Role\n") || strings.Contains(grant.Manifest, "escalate") {
		t.Fatalf("registration with the backup-only grant: grant %q, manifest:\n%s", grant.Grant, grant.Manifest)
	}
	tokenFile := filepath.Join(dir, "agent.token")
	passFile := filepath.Join(dir, "repo.pass")
	for path, content := range map[string]string{tokenFile: grant.AgentToken + "\n", passFile: passphrase + "\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	storageDir := filepath.Join(dir, "repository")
	if err := os.Mkdir(storageDir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logPodsOfFailedTest(t, client, trustgrant.DefaultNamespace)
		_, _ = cairn(t, nil, "agent", "revoke-restore")
		if t.Failed() {
			_, _ = cairn(t, nil, "agent", "uninstall")
		}
	})
	out, err := cairn(t, nil, "agent", "install", "--grant", "backup-only", "--vault", v.url, "--token-file", tokenFile,
		"--image", localcluster.AgentImage, "--image-pull-policy", "Never", "--host-network",
		"--api-server", fmt.Sprintf("127.0.0.1:%d", cluster.State.APIPort), "--host-path", storageDir, "--run-as-user", "0",
		"--secret", agentSecret+"="+passFile, "--timeout", "2m")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "applied Role "+trustgrant.DefaultNamespace+"/"+trustgrant.AgentName) || !strings.Contains(out, "cairn agent grant-restore") {
		t.Errorf("install output:\n%s", out)
	}
	role, err := client.RbacV1().ClusterRoles().Get(ctx, trustgrant.AgentName, metav1.GetOptions{})
	if err != nil || trustgrant.GrantOf(role.Rules) != trustgrant.GrantBackupOnly {
		t.Fatalf("ClusterRole %s: %v %+v", trustgrant.AgentName, err, role)
	}
	v.waitHealthy(t, "backup-only")
	step("agent installed with the backup-only grant and healthy")

	applyYAML(t, `
apiVersion: clusterbackup.dataprotection.microsoft.com/v1alpha1
kind: BackupHook
metadata: {name: freeze, namespace: grant-app}
spec:
  backupHook:
  - name: marker
    includedNamespaces: [grant-app]
    labelSelector: {matchLabels: {app: writer}}
    preHooks:
    - exec: {container: app, command: [touch, /data/frozen], onError: Fail, timeout: 10s}
    postHooks:
    - exec: {container: app, command: [rm, /data/frozen]}
`)
	day := policy.Duration(24 * time.Hour)
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "daily", Schedule: policy.Schedule{DailyAt: "03:00"},
		Retention: policy.Retention{Default: day}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: ns, Cluster: "backup-only", Policy: "daily",
		Backup: vaultv1.BackupConfig{IncludeNamespaces: []string{ns}, SnapshotVolumes: true, VolumeData: "snapshot+copy",
			BackupHooks: []string{ns + "/freeze"}},
		Storage: vaultv1.StorageLocation{URL: "file://" + storageDir, PassphraseSecret: agentSecret}}); err != nil {
		t.Fatal(err)
	}

	// The validation passes, and says what restores will need.
	job, err := v.admin.ValidateInstance(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	validation := v.waitJob(t, job.ID, 2*time.Minute)
	if validation.State != vaultv1.JobSucceeded || validation.Result == nil {
		t.Fatalf("validation with the backup-only grant: %+v", validation)
	}
	if p := checkOf(validation.Result.Checks, "permissions"); !p.OK || !strings.Contains(p.Message, "restores and test restores need the restore grant") {
		t.Errorf("validation's permissions check: %+v", p)
	}
	step("validated")

	// The backup: hooks, a snapshot and a copy of its data, all with the backup-only grant.
	job, err = v.admin.BackupNow(ctx, ns, vaultv1.BackupNowRequest{})
	if err != nil {
		t.Fatal(err)
	}
	backup := v.waitJob(t, job.ID, 3*time.Minute)
	if backup.State != vaultv1.JobSucceeded || backup.Result == nil || backup.Result.RecoveryPoint == nil {
		t.Fatalf("backup with the backup-only grant: %+v", backup)
	}
	rp := backup.Spec.Backup.RecoveryPoint
	if got := v.recoveryPoints(t, ns)[rp]; got.Volumes != 1 || got.VolumesCopied != 1 {
		t.Errorf("recovery point %s: %d volume(s) snapshotted, %d copied; want 1 and 1", rp, got.Volumes, got.VolumesCopied)
	}
	assertNoMoverLeftovers(ctx, t, client)
	step("backed up: hook, snapshot and copy")

	// A restore stops at its pre-flight, before writing, naming the fix.
	back := ns + "-back"
	restoreReq := vaultv1.RestoreRequest{RecoveryPoint: rp, Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{ns: back}}}
	job, err = v.admin.Restore(ctx, restoreReq)
	if err != nil {
		t.Fatal(err)
	}
	refused := v.waitJob(t, job.ID, 2*time.Minute)
	if refused.State != vaultv1.JobFailed || !strings.Contains(refused.Error, "the agent holds the backup-only grant") ||
		!strings.Contains(refused.Error, "`cairn agent grant-restore`") {
		t.Fatalf("restore without the restore grant: %s: %s", refused.State, refused.Error)
	}
	if refused.Result != nil {
		if p := checkOf(refused.Result.Checks, "permissions"); p.OK {
			t.Errorf("the permissions check passed: %+v", p)
		}
	}
	if _, err := client.CoreV1().Namespaces().Get(ctx, back, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the refused restore made namespace %s: %v", back, err)
	}
	step("restore refused by the pre-flight")

	// With the restore grant the same restore brings the data back.
	if out, err := cairn(t, nil, "agent", "grant-restore"); err != nil || !strings.Contains(out, "applied ClusterRoleBinding "+trustgrant.RestoreRoleName) {
		t.Fatalf("grant-restore: %v\n%s", err, out)
	}
	// The apiserver's RBAC authorizer sees the new binding a moment after it is written.
	sa := "system:serviceaccount:" + trustgrant.DefaultNamespace + ":" + trustgrant.AgentName
	waitFor(t, 30*time.Second, "the restore grant to reach the authorizer", func() bool {
		review, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: sa, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + trustgrant.DefaultNamespace},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: "create", Resource: "namespaces"}}}, metav1.CreateOptions{})
		return err == nil && review.Status.Allowed
	})
	job, err = v.admin.Restore(ctx, restoreReq)
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, job.ID, 3*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("restore with the restore grant: %s: %s", j.State, j.Error)
	}
	if got := checksumIn(ctx, t, cluster, back); got != sum {
		t.Fatalf("restored checksum %q, want %q", got, sum)
	}
	step("restored with the restore grant")

	if out, err := cairn(t, nil, "agent", "revoke-restore"); err != nil || !strings.Contains(out, "deleted ClusterRoleBinding "+trustgrant.RestoreRoleName) {
		t.Fatalf("revoke-restore: %v\n%s", err, out)
	}
	if _, err := client.RbacV1().ClusterRoles().Get(ctx, trustgrant.RestoreRoleName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ClusterRole %s after revoke-restore: %v", trustgrant.RestoreRoleName, err)
	}
	deleteNamespace(ctx, t, client, back)
	deleteNamespace(ctx, t, client, ns)

	if _, err := cairn(t, nil, "agent", "uninstall"); err != nil {
		t.Fatal(err)
	}
	if _, err := client.RbacV1().Roles(trustgrant.DefaultNamespace).Get(ctx, trustgrant.AgentName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Role %s is still there: %v", trustgrant.AgentName, err)
	}
	step("uninstalled")
}

// checkOf is the check of that name (zero if none).
func checkOf(checks []vaultv1.Check, name string) vaultv1.Check {
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	return vaultv1.Check{}
}
