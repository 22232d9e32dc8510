//go:build integration

package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/agent/install"
	"github.com/cairnbackup/cairn/internal/testenv"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// TestAgentHoldingTheBackupOnlyGrant runs the agent as its ServiceAccount (impersonated) holding
// the backup-only grant on a real kube-apiserver: it starts (installing the hook CRDs), backs up
// and validates; a restore stops at its permissions pre-flight check, which names the restore
// grant and the command that applies it, before anything is written; with the restore grant
// applied (install.RestoreGrant, as `cairn agent grant-restore` does) the same restore succeeds.
func TestAgentHoldingTheBackupOnlyGrant(t *testing.T) {
	ctx := t.Context()
	cfg, client := shopCluster(t, "agent-grant")

	// The backup-only grant of an agent in namespace backups, as cairn agent install --grant
	// backup-only -n backups applies it.
	const ns = "backups"
	g, err := trustgrant.NewOf(trustgrant.GrantBackupOnly, ns, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range g.Objects() {
		if err := create(ctx, client, o); err != nil {
			t.Fatal(err)
		}
	}
	user := "system:serviceaccount:" + ns + ":" + trustgrant.AgentName
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	agentCfg := rest.CopyConfig(cfg)
	agentCfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	// The apiserver's RBAC authorizer sees new roles and bindings a moment after they are written.
	settle := func(verb, resource string, want bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			review, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups,
					ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Resource: resource, Namespace: "default"}}},
				metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if review.Status.Allowed == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %s allowed is not %v within 10s", verb, resource, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	settle("list", "configmaps", true)

	repoDir := t.TempDir()
	secrets := t.TempDir()
	if err := os.WriteFile(filepath.Join(secrets, "shop-passphrase"), []byte(passphrase+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	storage := agentv1.StorageLocation{URL: "file://" + repoDir, PassphraseSecret: "shop-passphrase"}
	const rp = "shop-20250101000000"
	backupConfig := agentv1.BackupConfig{IncludeNamespaces: []string{"shop"}}
	restoreJob := func(id int64) *agentv1.Job {
		return &agentv1.Job{ID: id, Kind: agentv1.KindRestore, Cluster: "it", Trigger: "user", Attempt: 1, Spec: agentv1.JobSpec{Restore: &agentv1.RestoreJob{
			Name: "shop-copy", RecoveryPoint: rp, SourceCluster: "it", Storage: storage,
			Options: agentv1.RestoreOptions{NamespaceMapping: map[string]string{"shop": "shop-copy"}}}}}
	}
	v := &sequentialVault{reports: map[int64][]agentv1.ProgressReport{}, completions: map[int64]agentv1.Completion{}, jobs: []*agentv1.Job{
		{ID: 1, Kind: agentv1.KindBackup, Instance: "shop", Cluster: "it", Trigger: "scheduled", Attempt: 1, Spec: agentv1.JobSpec{Backup: &agentv1.BackupJob{
			RecoveryPoint: rp, Storage: storage, Config: backupConfig}}},
		{ID: 2, Kind: agentv1.KindValidate, Instance: "shop", Cluster: "it", Trigger: "user", Attempt: 1, Spec: agentv1.JobSpec{Validate: &agentv1.ValidateJob{
			Instance: "shop", Storage: storage, Config: backupConfig}}},
		restoreJob(3),
		restoreJob(4),
	}}
	srv := httptest.NewServer(v.handler(t))
	defer srv.Close()

	logs := &testenv.LockedBuffer{}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(runCtx, agent.Options{VaultURL: srv.URL, Token: agentToken, Config: agentCfg, SecretsDir: secrets,
			Version: "v0.it", HeartbeatEvery: 200 * time.Millisecond, ProgressEvery: 200 * time.Millisecond,
			Getenv: func(k string) string {
				if k == trustgrant.EnvPodNamespace {
					return ns
				}
				return ""
			},
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
	}()
	defer func() {
		stop()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("the agent did not stop")
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()
	deadline := time.Now().Add(3 * time.Minute)
	await := func(id int64) agentv1.Completion {
		t.Helper()
		for {
			if c, ok := v.completion(id); ok {
				return c
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d was not completed", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	fix := "apply the restore grant with `cairn agent grant-restore -n backups`"

	v.release(3)
	if c := await(1); c.State != agentv1.JobSucceeded || c.Result == nil || c.Result.RecoveryPoint == nil {
		t.Fatalf("backup with the backup-only grant: %+v\n%s", c, v.logText(1))
	}
	c := await(2)
	if c.State != agentv1.JobSucceeded || c.Result == nil {
		t.Fatalf("validation with the backup-only grant: %+v\n%s", c, v.logText(2))
	}
	if p := checkNamed(c.Result.Checks, "permissions"); !p.OK || !strings.Contains(p.Message, "it holds the backup-only grant: restores and test restores need the restore grant ("+fix) {
		t.Errorf("validation's permissions check: %+v", p)
	}
	c = await(3)
	if c.Result == nil {
		t.Fatalf("restore without the restore grant: %+v\n%s", c, v.logText(3))
	}
	p := checkNamed(c.Result.Checks, "permissions")
	if c.State != agentv1.JobFailed || p.OK || !strings.Contains(p.Message, "the agent may not create") ||
		!strings.Contains(p.Message, "the agent holds the backup-only grant: "+fix) || !strings.Contains(c.Error, "the agent holds the backup-only grant") {
		t.Fatalf("restore without the restore grant: %+v\npermissions: %+v\n%s", c, p, v.logText(3))
	}
	t.Logf("the refused restore says: %s", p.Message)
	if _, err := client.CoreV1().Namespaces().Get(ctx, "shop-copy", metav1.GetOptions{}); err == nil {
		t.Error("the restore stopped by its pre-flight made namespace shop-copy")
	}

	if err := install.RestoreGrant(ctx, cfg, install.RestoreGrantOptions{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	settle("create", "configmaps", true)
	v.release(4)
	if c := await(4); c.State != agentv1.JobSucceeded || c.Result == nil || c.Result.Restore == nil || c.Result.Restore.Created < 3 {
		t.Fatalf("restore with the restore grant: %+v\n%s", c, v.logText(4))
	}
	if _, err := client.CoreV1().ConfigMaps("shop-copy").Get(ctx, "settings", metav1.GetOptions{}); err != nil {
		t.Errorf("restored ConfigMap: %v", err)
	}
	if err := install.RevokeRestoreGrant(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	settle("create", "configmaps", false)
}

// create creates an object of the trust grant.
func create(ctx context.Context, client kubernetes.Interface, o runtime.Object) error {
	var err error
	create := metav1.CreateOptions{}
	switch o := o.(type) {
	case *corev1.Namespace:
		_, err = client.CoreV1().Namespaces().Create(ctx, o, create)
	case *corev1.ServiceAccount:
		_, err = client.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, create)
	case *rbacv1.ClusterRole:
		_, err = client.RbacV1().ClusterRoles().Create(ctx, o, create)
	case *rbacv1.ClusterRoleBinding:
		_, err = client.RbacV1().ClusterRoleBindings().Create(ctx, o, create)
	case *rbacv1.Role:
		_, err = client.RbacV1().Roles(o.Namespace).Create(ctx, o, create)
	case *rbacv1.RoleBinding:
		_, err = client.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, create)
	default:
		return fmt.Errorf("the trust grant has no %T", o)
	}
	if err != nil {
		return fmt.Errorf("create %T: %w", o, err)
	}
	return nil
}

// checkNamed is the check of that name (zero if none).
func checkNamed(checks []agentv1.Check, name string) agentv1.Check {
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	return agentv1.Check{}
}
