package install

import (
	"context"
	"io"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/internal/trustgrant"
)

// RestoreGrantOptions say which restore grant to add to, or take from, an agent holding the
// backup-only grant.
type RestoreGrantOptions struct {
	// Namespace is the agent's (default cairn-system).
	Namespace string
	// NoRBACEscalation leaves escalate and bind out, as for Options.
	NoRBACEscalation bool
	// Revoke deletes the restore grant instead of applying it.
	Revoke bool
	// Out receives one line per object applied or deleted (default: discarded).
	Out io.Writer
}

// RestoreGrant applies the restore grant (trustgrant.Restore) with the caller's credentials, or
// deletes it: an administrator gives a backup-only agent what restores need for as long as they
// are to run.
func RestoreGrant(ctx context.Context, cfg *rest.Config, opts RestoreGrantOptions) error {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	objs, _, err := trustgrant.Restore(opts.Namespace, !opts.NoRBACEscalation)
	if err != nil {
		return err
	}
	c, err := newClients(cfg)
	if err != nil {
		return err
	}
	if opts.Revoke {
		rbac := c.kube.RbacV1()
		if err := deleted(opts.Out, "ClusterRoleBinding "+trustgrant.RestoreRoleName,
			rbac.ClusterRoleBindings().Delete(ctx, trustgrant.RestoreRoleName, metav1.DeleteOptions{})); err != nil {
			return err
		}
		return deleted(opts.Out, "ClusterRole "+trustgrant.RestoreRoleName,
			rbac.ClusterRoles().Delete(ctx, trustgrant.RestoreRoleName, metav1.DeleteOptions{}))
	}
	for _, o := range objs {
		if err := c.apply(ctx, o, opts.Out); err != nil {
			return err
		}
	}
	return nil
}

// RestoreGrantYAML renders the restore grant with each rule's reason, for review or for applying
// by hand.
func RestoreGrantYAML(namespace string, escalation bool) (string, error) {
	objs, rules, err := trustgrant.Restore(namespace, escalation)
	if err != nil {
		return "", err
	}
	return trustgrant.Render(objs, map[string][]trustgrant.Rule{"ClusterRole": rules})
}
