package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// vaultCapabilities are what this vault takes beyond protocol 1 as first released.
var vaultCapabilities = []string{agentv1.CapHeartbeatNamespaces, agentv1.CapClaimKinds}

// agentPeerKey is the request context key of what the calling agent said of itself.
type agentPeerKey struct{}

// negotiate answers an agent route in the vault's protocol and reads the agent's: the answer says
// which protocol and capabilities the vault has (docs/design/vault.md, "Versions and
// capabilities"); an agent older than MinProtocol is refused. It returns the request carrying
// the agent's Peer.
func negotiate(w http.ResponseWriter, r *http.Request) (*http.Request, error) {
	agentv1.SetVaultHeaders(w.Header(), vaultCapabilities)
	peer, err := agentv1.AgentPeer(r.Header)
	if err != nil {
		return r, &apiError{status: http.StatusBadRequest, code: "bad_request", message: err.Error()}
	}
	if peer.Protocol < agentv1.MinProtocol {
		return r, &apiError{status: http.StatusBadRequest, code: agentv1.CodeUnsupportedProtocol,
			message: fmt.Sprintf("the agent speaks protocol %d; this vault speaks %d to %d: upgrade the agent", peer.Protocol, agentv1.MinProtocol, agentv1.Protocol)}
	}
	return r.WithContext(context.WithValue(r.Context(), agentPeerKey{}, peer)), nil
}

// agentPeer is what the calling agent said of itself.
func agentPeer(ctx context.Context) agentv1.Peer {
	p, _ := ctx.Value(agentPeerKey{}).(agentv1.Peer)
	return p
}
