package agentv1

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Protocol is the version of the protocol this package describes: what a side of this release
// speaks. A side also speaks every version from MinProtocol up, so that a vault and an agent one
// release apart always share one: the newer side speaks down to the older.
const (
	Protocol    = 1
	MinProtocol = 1
)

// Headers by which each side says what it speaks. Headers, not body fields: a side that predates
// them ignores them, while it may refuse an unknown field in a body.
const (
	// HeaderAgentProtocol carries the agent's protocol version on every agent call.
	HeaderAgentProtocol = "Cairn-Agent-Protocol"
	// HeaderAgentKinds lists the job kinds the agent runs, comma-separated.
	HeaderAgentKinds = "Cairn-Agent-Kinds"
	// HeaderVaultProtocol carries the newest protocol version the vault speaks, on every answer
	// of an agent route.
	HeaderVaultProtocol = "Cairn-Vault-Protocol"
	// HeaderVaultCapabilities lists what the vault takes beyond protocol 1 as first released.
	HeaderVaultCapabilities = "Cairn-Vault-Capabilities"
)

// CodeUnsupportedProtocol is the error code of a vault's 400 answer to an agent whose protocol
// version it does not speak.
const CodeUnsupportedProtocol = "unsupported_protocol"

// Capabilities a vault may announce.
const (
	// CapHeartbeatNamespaces: heartbeats may carry the cluster's namespaces.
	CapHeartbeatNamespaces = "heartbeat-namespaces"
	// CapClaimKinds: a claim hands out only jobs of the kinds the agent announced.
	CapClaimKinds = "claim-kinds"
)

// Peer is what one side learnt of the other from its headers.
type Peer struct {
	// Protocol is the version the other side speaks; 1 when it did not say (it predates the
	// headers).
	Protocol int
	// Announced tells whether the other side sent its version at all.
	Announced bool
	// Kinds are the job kinds an agent runs (an agent that did not say runs those of protocol 1).
	Kinds []string
	// Capabilities are what a vault announced (none when it did not say).
	Capabilities []string
}

// Has tells whether the peer announced capability c.
func (p Peer) Has(c string) bool { return slices.Contains(p.Capabilities, c) }

// Runs tells whether the peer runs jobs of kind k.
func (p Peer) Runs(k string) bool { return slices.Contains(p.Kinds, k) }

// SetAgentHeaders says, on an agent's request, which protocol it speaks and which kinds it runs.
func SetAgentHeaders(h http.Header, kinds []string) {
	h.Set(HeaderAgentProtocol, strconv.Itoa(Protocol))
	h.Set(HeaderAgentKinds, strings.Join(kinds, ", "))
}

// SetVaultHeaders says, on a vault's answer, which protocol it speaks and what it takes.
func SetVaultHeaders(h http.Header, capabilities []string) {
	h.Set(HeaderVaultProtocol, strconv.Itoa(Protocol))
	h.Set(HeaderVaultCapabilities, strings.Join(capabilities, ", "))
}

// AgentPeer reads what an agent's request says of it. An agent that says nothing speaks protocol
// 1 and runs the kinds of protocol 1 as first released (KindsV1).
func AgentPeer(h http.Header) (Peer, error) {
	p := Peer{Protocol: 1, Kinds: KindsV1}
	v := h.Get(HeaderAgentProtocol)
	if v == "" {
		return p, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return p, fmt.Errorf("header %s: %q is not a protocol version", HeaderAgentProtocol, v)
	}
	p.Protocol, p.Announced = n, true
	if k, ok := h[http.CanonicalHeaderKey(HeaderAgentKinds)]; ok {
		p.Kinds = splitList(strings.Join(k, ","))
	}
	return p, nil
}

// VaultPeer reads what a vault's answer says of it. A vault that says nothing speaks protocol 1
// as first released.
func VaultPeer(h http.Header) Peer {
	p := Peer{Protocol: 1}
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(HeaderVaultProtocol)))
	if err != nil || n < 1 {
		return p
	}
	p.Protocol, p.Announced = n, true
	p.Capabilities = splitList(h.Get(HeaderVaultCapabilities))
	return p
}

func splitList(s string) []string {
	out := []string{}
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
