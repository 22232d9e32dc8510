package install

import (
	"context"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// RestoreGrantOptions say which restore grant to add to an agent holding the backup-only grant.
type RestoreGrantOptions struct {
	// Namespace is the agent's (default cairn-system).
	Namespace string
	// NoRBACEscalation leaves escalate and bind out, as for Options.
	NoRBACEscalation bool
	// Out receives one line per object applied (default: discarded).
	Out io.Writer
}

// RestoreGrant applies the restore grant (trustgrant.Restore) with the caller's credentials: an
// administrator gives a backup-only agent what restores need for as long as they are to run, and
// takes it back with RevokeRestoreGrant. The agent's ServiceAccount must exist in the namespace
// (a grant to an agent that is not there would be a silent no-op); an agent holding the full grant
// gets it all the same, with a note that it adds nothing.
func RestoreGrant(ctx context.Context, cfg *rest.Config, opts RestoreGrantOptions) error {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if opts.Namespace == "" {
		opts.Namespace = trustgrant.DefaultNamespace
	}
	objs, _, err := trustgrant.Restore(opts.Namespace, !opts.NoRBACEscalation)
	if err != nil {
		return err
	}
	c, err := newClients(cfg)
	if err != nil {
		return err
	}
	_, err = c.kube.CoreV1().ServiceAccounts(opts.Namespace).Get(ctx, trustgrant.AgentName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("no agent in namespace %s (no ServiceAccount %s there): give the agent's namespace with -n, or install it first (cairn agent install)",
			opts.Namespace, trustgrant.AgentName)
	case err != nil:
		return fmt.Errorf("read the agent's ServiceAccount %s/%s: %w", opts.Namespace, trustgrant.AgentName, err)
	}
	role, err := c.kube.RbacV1().ClusterRoles().Get(ctx, trustgrant.AgentName, metav1.GetOptions{})
	if err == nil && trustgrant.GrantOf(role.Rules) == trustgrant.GrantFull {
		fmt.Fprintf(out, "note: ClusterRole %s is the full grant already: the restore grant adds nothing to it\n", trustgrant.AgentName)
	}
	for _, o := range objs {
		if err := c.apply(ctx, o, out); err != nil {
			return err
		}
	}
	return nil
}

// RevokeRestoreGrant deletes the restore grant, binding first; what is gone already is skipped.
func RevokeRestoreGrant(ctx context.Context, cfg *rest.Config, out io.Writer) error {
	if out == nil {
		out = io.Discard
	}
	c, err := newClients(cfg)
	if err != nil {
		return err
	}
	rbac := c.kube.RbacV1()
	if err := deleted(out, "ClusterRoleBinding "+trustgrant.RestoreRoleName,
		rbac.ClusterRoleBindings().Delete(ctx, trustgrant.RestoreRoleName, metav1.DeleteOptions{})); err != nil {
		return err
	}
	return deleted(out, "ClusterRole "+trustgrant.RestoreRoleName,
		rbac.ClusterRoles().Delete(ctx, trustgrant.RestoreRoleName, metav1.DeleteOptions{}))
}

// RestoreGrantYAML renders the restore grant with each rule's reason, for review or for applying
// by hand (deploy/agent/cairn-agent-restore.yaml is the one of cairn-system).
func RestoreGrantYAML(namespace string, escalation bool) (string, error) {
	objs, rules, err := trustgrant.Restore(namespace, escalation)
	if err != nil {
		return "", err
	}
	return trustgrant.Render(objs, map[string][]trustgrant.Rule{"ClusterRole": rules})
}
