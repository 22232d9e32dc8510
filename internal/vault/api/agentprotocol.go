package api

import (
	"fmt"
	"net/http"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// vaultCapabilities are what this vault takes beyond protocol 1 as first released.
var vaultCapabilities = []string{agentv1.CapHeartbeatNamespaces, agentv1.CapClaimKinds}

// negotiate answers an agent route in the vault's protocol and reads the agent's: the answer says
// which protocol and capabilities the vault has (docs/design/vault.md, "Versions and
// capabilities"); an agent older than MinProtocol is refused.
func negotiate(w http.ResponseWriter, r *http.Request) error {
	agentv1.SetVaultHeaders(w.Header(), vaultCapabilities)
	peer, err := agentv1.AgentPeer(r.Header)
	if err != nil {
		return &apiError{status: http.StatusBadRequest, code: "bad_request", message: err.Error()}
	}
	if peer.Protocol < agentv1.MinProtocol {
		return &apiError{status: http.StatusBadRequest, code: agentv1.CodeUnsupportedProtocol,
			message: fmt.Sprintf("the agent speaks protocol %d; this vault speaks %d to %d: upgrade the agent", peer.Protocol, agentv1.MinProtocol, agentv1.Protocol)}
	}
	return nil
}
