package agent

import (
	"fmt"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/usecase"
)

// checkAgent names a restore's first pre-flight check, which says which agent runs it.
const checkAgent = "agent"

// wording words a restore's pre-flight checks as the agent's.
func (a *agent) wording(loc agentv1.StorageLocation) usecase.Wording {
	return usecase.Wording{
		RunnerCheck: checkAgent,
		Runner: func(kubernetesVersion string) string {
			return fmt.Sprintf("agent %s is running in this cluster (Kubernetes %s)", a.opts.Version, kubernetesVersion)
		},
		Credential: fmt.Sprintf("passphrase secret %q", loc.PassphraseSecret),
		Subject:    "the agent",
		Grant: "grant it to the agent's identity in this cluster: an agent installed with --grant backup-only needs the restore grant " +
			"for restores (cairn agent grant-restore with your kubeconfig, --revoke after); else the ClusterRole of the trust grant's manifest",
	}
}
