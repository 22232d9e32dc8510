//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/agent/install"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// TestBackupOnlyGrantOnARealAPIServer applies the backup-only grant to a real kube-apiserver and
// asks it what the agent's ServiceAccount may do (SubjectAccessReviews), then acts as it
// (impersonation): it reads everything and takes snapshots anywhere, writes pods, claims and
// Secrets in its own namespace only, and writes other objects (a ConfigMap in another namespace)
// only while the restore grant `cairn agent grant-restore` applies is there; revoke-restore takes
// that back.
func TestBackupOnlyGrantOnARealAPIServer(t *testing.T) {
	ctx := t.Context()
	const ns = "grant-it"
	cfg, err := source.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g, err := trustgrant.NewOf(trustgrant.GrantBackupOnly, ns, true)
	if err != nil {
		t.Fatal(err)
	}
	rbac := client.RbacV1()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	// Without the agent's ServiceAccount there is nothing to grant restores to.
	if err := install.RestoreGrant(ctx, cfg, install.RestoreGrantOptions{Namespace: "no-agent-here"}); err == nil ||
		!strings.Contains(err.Error(), "no agent in namespace no-agent-here") {
		t.Errorf("restore grant without an agent: %v", err)
	}

	// The grant's ClusterRole and binding are renamed: other tests of this cluster may install an
	// agent of their own.
	g.ClusterRole.Name, g.Binding.Name, g.Binding.RoleRef.Name = "cairn-agent-it", "cairn-agent-it", "cairn-agent-it"
	_, err = client.CoreV1().Namespaces().Create(ctx, g.Namespace, metav1.CreateOptions{})
	must("create namespace", err)
	_, err = client.CoreV1().ServiceAccounts(ns).Create(ctx, g.ServiceAccount, metav1.CreateOptions{})
	must("create service account", err)
	_, err = rbac.ClusterRoles().Create(ctx, g.ClusterRole, metav1.CreateOptions{})
	must("create cluster role", err)
	_, err = rbac.ClusterRoleBindings().Create(ctx, g.Binding, metav1.CreateOptions{})
	must("create cluster role binding", err)
	_, err = rbac.Roles(ns).Create(ctx, g.Role, metav1.CreateOptions{})
	must("create role", err)
	_, err = rbac.RoleBindings(ns).Create(ctx, g.RoleBinding, metav1.CreateOptions{})
	must("create role binding", err)
	t.Cleanup(func() {
		bg := context.Background()
		_ = rbac.ClusterRoleBindings().Delete(bg, "cairn-agent-it", metav1.DeleteOptions{})
		_ = rbac.ClusterRoles().Delete(bg, "cairn-agent-it", metav1.DeleteOptions{})
		_ = install.RevokeRestoreGrant(bg, cfg, nil)
		_ = client.CoreV1().Namespaces().Delete(bg, ns, metav1.DeleteOptions{})
	})

	user := "system:serviceaccount:" + ns + ":" + trustgrant.AgentName
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	may := func(verb, group, resource, namespace, name string) bool {
		t.Helper()
		review, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: user, Groups: groups,
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Namespace: namespace, Name: name}}},
			metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return review.Status.Allowed
	}
	// The apiserver's RBAC authorizer sees new roles and bindings through its informers: a moment
	// after they are written.
	settles := func(verb, group, resource string, want bool) bool {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for may(verb, group, resource, "default", "") != want {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(100 * time.Millisecond)
		}
		return true
	}
	if !settles("list", "", "configmaps", true) {
		t.Fatal("the backup-only grant did not let the agent list ConfigMaps within 10s")
	}
	const otherCRD = "widgets.example.com"
	backupOnly := []struct {
		verb, group, resource, namespace, name string
		allowed                                bool
	}{
		{"list", "", "configmaps", "", "", true},
		{"get", "", "secrets", "default", "x", true},
		{"create", "snapshot.storage.k8s.io", "volumesnapshots", "default", "", true},
		{"delete", "snapshot.storage.k8s.io", "volumesnapshotcontents", "", "snapcontent-1", true},
		{"create", "", "pods/exec", "default", "web-0", true},
		{"create", "", "pods", ns, "", true},
		{"create", "", "persistentvolumeclaims", ns, "", true},
		{"create", "", "secrets", ns, "", true},
		{"update", "apiextensions.k8s.io", "customresourcedefinitions", "", trustgrant.HookCRDs[0], true},
		{"create", "", "configmaps", "default", "", false},
		{"create", "", "configmaps", ns, "", false},
		{"create", "", "pods", "default", "", false},
		{"create", "", "persistentvolumeclaims", "default", "", false},
		{"delete", "apps", "deployments", "default", "web", false},
		{"update", "apiextensions.k8s.io", "customresourcedefinitions", "", otherCRD, false},
		{"create", "snapshot.storage.k8s.io", "volumesnapshotclasses", "", "", false},
		{"escalate", rbacv1.GroupName, "clusterroles", "", "admin", false},
		{"bind", rbacv1.GroupName, "roles", "default", "admin", false},
	}
	for _, c := range backupOnly {
		if got := may(c.verb, c.group, c.resource, c.namespace, c.name); got != c.allowed {
			t.Errorf("backup-only: %s %s/%s %q in %q: allowed %v, want %v", c.verb, c.group, c.resource, c.name, c.namespace, got, c.allowed)
		}
	}

	// Acting as the agent: the reads and its own namespace's writes work, another namespace's
	// writes are refused.
	agentCfg := rest.CopyConfig(cfg)
	agentCfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	agent, err := kubernetes.NewForConfig(agentCfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := agent.CoreV1().ConfigMaps("").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("the backup-only agent lists ConfigMaps cluster-wide: %v", err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cairn-mover-it"}, StringData: map[string]string{"k": "v"}}
	if _, err := agent.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Errorf("the backup-only agent creates a Secret in its namespace: %v", err)
	} else if err := agent.CoreV1().Secrets(ns).Delete(ctx, secret.Name, metav1.DeleteOptions{}); err != nil {
		t.Errorf("the backup-only agent deletes its Secret: %v", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "restored-by-the-agent"}, Data: map[string]string{"k": "v"}}
	if _, err := agent.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("the backup-only agent creating a ConfigMap in namespace default: %v, want forbidden", err)
	}

	// The restore grant, applied with the administrator's credentials.
	if err := install.RestoreGrant(ctx, cfg, install.RestoreGrantOptions{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	if !settles("create", "", "configmaps", true) {
		t.Fatal("the restore grant did not let the agent create a ConfigMap within 10s")
	}
	for _, c := range []struct{ verb, group, resource, name string }{{"create", "", "configmaps", ""}, {"create", "", "pods", ""},
		{"delete", "apps", "deployments", "web"}, {"escalate", rbacv1.GroupName, "clusterroles", "admin"}} {
		if !may(c.verb, c.group, c.resource, "default", c.name) {
			t.Errorf("with the restore grant: %s %s/%s refused", c.verb, c.group, c.resource)
		}
	}
	if _, err := agent.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Errorf("with the restore grant the agent creating a ConfigMap in namespace default: %v", err)
	} else if err := agent.CoreV1().ConfigMaps("default").Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil {
		t.Errorf("with the restore grant the agent deleting its ConfigMap: %v", err)
	}

	// Revoked: the writes are refused again, and a second revoke finds nothing to do.
	if err := install.RevokeRestoreGrant(ctx, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if err := install.RevokeRestoreGrant(ctx, cfg, nil); err != nil {
		t.Errorf("second revoke: %v", err)
	}
	if !settles("create", "", "configmaps", false) {
		t.Fatal("the restore grant's revocation left the agent writing")
	}
	if _, err := agent.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("after revoke-restore the agent creating a ConfigMap in namespace default: %v, want forbidden", err)
	}
}
