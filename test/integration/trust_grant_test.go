//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/cairnbackup/cairn/internal/agent/install"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// TestBackupOnlyGrantOnARealAPIServer applies the backup-only grant to a real kube-apiserver and
// asks it (SubjectAccessReviews for the agent's ServiceAccount) what the agent may do: read
// everything and take snapshots anywhere, write pods, claims and Secrets in its own namespace
// only, and write other objects only while the restore grant is applied.
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
	create := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("create %s: %v", what, err)
		}
	}
	_, err = client.CoreV1().Namespaces().Create(ctx, g.Namespace, metav1.CreateOptions{})
	create("namespace", err)
	_, err = client.CoreV1().ServiceAccounts(ns).Create(ctx, g.ServiceAccount, metav1.CreateOptions{})
	create("service account", err)
	g.ClusterRole.Name, g.Binding.Name, g.Binding.RoleRef.Name = "cairn-agent-it", "cairn-agent-it", "cairn-agent-it"
	_, err = rbac.ClusterRoles().Create(ctx, g.ClusterRole, metav1.CreateOptions{})
	create("cluster role", err)
	_, err = rbac.ClusterRoleBindings().Create(ctx, g.Binding, metav1.CreateOptions{})
	create("cluster role binding", err)
	_, err = rbac.Roles(ns).Create(ctx, g.Role, metav1.CreateOptions{})
	create("role", err)
	_, err = rbac.RoleBindings(ns).Create(ctx, g.RoleBinding, metav1.CreateOptions{})
	create("role binding", err)
	t.Cleanup(func() {
		bg := context.Background()
		_ = rbac.ClusterRoleBindings().Delete(bg, "cairn-agent-it", metav1.DeleteOptions{})
		_ = rbac.ClusterRoles().Delete(bg, "cairn-agent-it", metav1.DeleteOptions{})
		_ = install.RestoreGrant(bg, cfg, install.RestoreGrantOptions{Namespace: ns, Revoke: true})
		_ = client.CoreV1().Namespaces().Delete(bg, ns, metav1.DeleteOptions{})
	})

	agent := "system:serviceaccount:" + ns + ":" + trustgrant.AgentName
	may := func(verb, group, resource, namespace string) bool {
		t.Helper()
		review, err := client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: agent, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns},
				ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource, Namespace: namespace}}},
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
		for may(verb, group, resource, "default") != want {
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
	backupOnly := []struct {
		verb, group, resource, namespace string
		allowed                          bool
	}{
		{"list", "", "configmaps", "", true},
		{"get", "", "secrets", "default", true},
		{"create", "snapshot.storage.k8s.io", "volumesnapshots", "default", true},
		{"create", "", "pods", ns, true},
		{"create", "", "persistentvolumeclaims", ns, true},
		{"create", "", "configmaps", "default", false},
		{"create", "", "persistentvolumeclaims", "default", false},
		{"delete", "apps", "deployments", "default", false},
		{"escalate", rbacv1.GroupName, "clusterroles", "", false},
	}
	for _, c := range backupOnly {
		if got := may(c.verb, c.group, c.resource, c.namespace); got != c.allowed {
			t.Errorf("backup-only: %s %s/%s in %q: allowed %v, want %v", c.verb, c.group, c.resource, c.namespace, got, c.allowed)
		}
	}

	if err := install.RestoreGrant(ctx, cfg, install.RestoreGrantOptions{Namespace: ns}); err != nil {
		t.Fatal(err)
	}
	if !settles("create", "", "configmaps", true) {
		t.Fatal("the restore grant did not let the agent create a ConfigMap within 10s")
	}
	for _, c := range []struct{ verb, group, resource string }{{"create", "", "configmaps"}, {"delete", "apps", "deployments"},
		{"escalate", rbacv1.GroupName, "clusterroles"}} {
		if !may(c.verb, c.group, c.resource, "default") {
			t.Errorf("with the restore grant: %s %s/%s refused", c.verb, c.group, c.resource)
		}
	}
	if err := install.RestoreGrant(ctx, cfg, install.RestoreGrantOptions{Namespace: ns, Revoke: true}); err != nil {
		t.Fatal(err)
	}
	if !settles("create", "", "configmaps", false) {
		t.Error("the restore grant's revocation left the agent writing")
	}
}
