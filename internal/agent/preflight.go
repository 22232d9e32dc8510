package agent

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// checkAgent names a restore's first pre-flight check, which says which agent runs it.
const checkAgent = "agent"

// wording words a restore's pre-flight checks and a validation's as the agent's. How to get a
// permission the agent lacks depends on the grant its ClusterRole is: read once per job, so that
// a grant changed since the agent started is seen.
func (a *agent) wording(ctx context.Context, loc agentv1.StorageLocation) usecase.Wording {
	w := usecase.Wording{
		RunnerCheck: checkAgent,
		Runner: func(kubernetesVersion string) string {
			return fmt.Sprintf("agent %s is running in this cluster (Kubernetes %s)", a.opts.Version, kubernetesVersion)
		},
		Credential: fmt.Sprintf("passphrase secret %q", loc.PassphraseSecret),
		Subject:    "the agent",
	}
	fix := trustgrant.RestoreGrantFix(a.opts.Getenv(trustgrant.EnvPodNamespace))
	switch a.heldGrant(ctx) {
	case trustgrant.GrantBackupOnly:
		w.Grant = "the agent holds the backup-only grant: " + fix
		w.Restores = "it holds the backup-only grant: restores and test restores need the restore grant (" + fix + ")"
	case trustgrant.GrantFull:
		w.Grant = fmt.Sprintf("grant it to the agent's identity in this cluster (the ClusterRole %s of the trust grant's manifest: cairn agent install applies it)",
			trustgrant.AgentName)
	default:
		w.Grant = fmt.Sprintf("grant it to the agent's identity in this cluster (the ClusterRole %s of the trust grant's manifest); "+
			"an agent installed with --grant backup-only needs the restore grant: %s", trustgrant.AgentName, fix)
	}
	return w
}

// heldGrant says which grant the agent's ClusterRole cairn-agent is (trustgrant.GrantOf), or ""
// when it cannot be read (not found, or not the agent's own cluster).
func (a *agent) heldGrant(ctx context.Context) string {
	if a.cluster == nil {
		return ""
	}
	role, err := a.cluster.client.RbacV1().ClusterRoles().Get(ctx, trustgrant.AgentName, metav1.GetOptions{})
	if err != nil {
		a.log.DebugContext(ctx, "the agent's ClusterRole not read: the pre-flight cannot name its grant", "error", err)
		return ""
	}
	return trustgrant.GrantOf(role.Rules)
}
