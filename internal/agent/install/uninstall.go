package install

import (
	"context"
	"fmt"
	"io"
	"time"

	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/cairnbackup/cairn/internal/crds"
	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// UninstallOptions describe an uninstall.
type UninstallOptions struct {
	// Namespace the agent runs in (default cairn-system).
	Namespace string
	// RemoveCRDs deletes the BackupHook and RestoreHook CRDs too, and with them every BackupHook
	// and RestoreHook object in the cluster.
	RemoveCRDs bool
	// Wait waits until the agent's pods, the namespace (when the install made it) and the CRDs
	// (with RemoveCRDs) are gone, for at most Timeout.
	Wait bool
	// Timeout bounds Wait (default 2m).
	Timeout time.Duration
	// Out receives one line per object deleted (default: discarded).
	Out io.Writer
}

// Uninstall deletes what Install made: the Deployment, the Secrets, the ClusterRoleBinding and
// ClusterRole, the backup-only grant's Role and RoleBinding, the restore grant, the ServiceAccount, the namespace when the install made it (it carries
// app.kubernetes.io/managed-by=cairn) and, with RemoveCRDs, the CRDs. What is already gone is
// skipped: Uninstall is idempotent.
func Uninstall(ctx context.Context, cfg *rest.Config, opts UninstallOptions) error {
	if opts.Namespace == "" {
		opts.Namespace = trustgrant.DefaultNamespace
	}
	if err := trustgrant.ValidNamespace(opts.Namespace); err != nil {
		return err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	c, err := newClients(cfg)
	if err != nil {
		return err
	}
	ns := opts.Namespace
	background := metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}
	core, rbac := c.kube.CoreV1(), c.kube.RbacV1()
	steps := []struct {
		what string
		del  func() error
	}{
		{"Deployment " + ns + "/" + trustgrant.AgentName, func() error {
			return c.kube.AppsV1().Deployments(ns).Delete(ctx, trustgrant.AgentName, background)
		}},
		{"Secret " + ns + "/" + TokenSecret, func() error { return core.Secrets(ns).Delete(ctx, TokenSecret, metav1.DeleteOptions{}) }},
		{"Secret " + ns + "/" + SecretsSecret, func() error { return core.Secrets(ns).Delete(ctx, SecretsSecret, metav1.DeleteOptions{}) }},
		{"Secret " + ns + "/" + StorageSecret, func() error { return core.Secrets(ns).Delete(ctx, StorageSecret, metav1.DeleteOptions{}) }},
		{"ClusterRoleBinding " + trustgrant.AgentName, func() error {
			return rbac.ClusterRoleBindings().Delete(ctx, trustgrant.AgentName, metav1.DeleteOptions{})
		}},
		{"ClusterRole " + trustgrant.AgentName, func() error { return rbac.ClusterRoles().Delete(ctx, trustgrant.AgentName, metav1.DeleteOptions{}) }},
		{"RoleBinding " + ns + "/" + trustgrant.AgentName, func() error { return rbac.RoleBindings(ns).Delete(ctx, trustgrant.AgentName, metav1.DeleteOptions{}) }},
		{"Role " + ns + "/" + trustgrant.AgentName, func() error { return rbac.Roles(ns).Delete(ctx, trustgrant.AgentName, metav1.DeleteOptions{}) }},
		{"ClusterRoleBinding " + trustgrant.RestoreRoleName, func() error {
			return rbac.ClusterRoleBindings().Delete(ctx, trustgrant.RestoreRoleName, metav1.DeleteOptions{})
		}},
		{"ClusterRole " + trustgrant.RestoreRoleName, func() error {
			return rbac.ClusterRoles().Delete(ctx, trustgrant.RestoreRoleName, metav1.DeleteOptions{})
		}},
		{"ServiceAccount " + ns + "/" + trustgrant.AgentName, func() error {
			return core.ServiceAccounts(ns).Delete(ctx, trustgrant.AgentName, metav1.DeleteOptions{})
		}},
	}
	for _, s := range steps {
		if err := deleted(out, s.what, s.del()); err != nil {
			return err
		}
	}
	ownNamespace := false
	live, err := core.Namespaces().Get(ctx, ns, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("read namespace %s: %w", ns, err)
	case live.Labels[trustgrant.LabelManaged] == trustgrant.ManagedBy:
		ownNamespace = true
		if err := deleted(out, "Namespace "+ns, core.Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})); err != nil {
			return err
		}
	default:
		fmt.Fprintf(out, "namespace %s was not made by cairn: left in place\n", ns)
	}
	ext, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	var crdNames []string
	if opts.RemoveCRDs {
		embedded, err := crds.Embedded()
		if err != nil {
			return err
		}
		for _, crd := range embedded {
			crdNames = append(crdNames, crd.Name)
			err := ext.ApiextensionsV1().CustomResourceDefinitions().Delete(ctx, crd.Name, metav1.DeleteOptions{})
			if err := deleted(out, "CustomResourceDefinition "+crd.Name, err); err != nil {
				return err
			}
		}
	}
	if !opts.Wait {
		return nil
	}
	fmt.Fprintf(out, "waiting up to %s for the agent to be gone\n", opts.Timeout)
	var left string
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, opts.Timeout, true, func(ctx context.Context) (bool, error) {
		pods, err := c.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: trustgrant.LabelName + "=" + trustgrant.AgentName})
		if err != nil && !apierrors.IsNotFound(err) {
			left = "the agent's pods (" + err.Error() + ")"
			return false, nil
		}
		if err == nil && len(pods.Items) > 0 {
			left = fmt.Sprintf("pod %s/%s", ns, pods.Items[0].Name)
			return false, nil
		}
		if ownNamespace {
			if _, err := core.Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				left = "namespace " + ns
				return false, nil
			}
		}
		for _, name := range crdNames {
			if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				left = "CustomResourceDefinition " + name
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		if wait.Interrupted(err) {
			return fmt.Errorf("uninstall: %s still there after %s (a finalizer may hold it: see kubectl get -o yaml)", left, opts.Timeout)
		}
		return fmt.Errorf("uninstall: %w", err)
	}
	return nil
}

// deleted reports one deletion; not found is success.
func deleted(out io.Writer, what string, err error) error {
	switch {
	case err == nil:
		fmt.Fprintf(out, "deleted %s\n", what)
		return nil
	case apierrors.IsNotFound(err):
		return nil
	default:
		return fmt.Errorf("delete %s: %w", what, err)
	}
}
