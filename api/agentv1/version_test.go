package agentv1

import (
	"net/http"
	"slices"
	"testing"
)

func TestPeersReadTheirHeaders(t *testing.T) {
	h := http.Header{}
	SetAgentHeaders(h, []string{KindBackup, KindVerify})
	p, err := AgentPeer(h)
	if err != nil || !p.Announced || p.Protocol != Protocol || !slices.Equal(p.Kinds, []string{KindBackup, KindVerify}) || p.Runs(KindRestore) {
		t.Errorf("agent peer = %+v, %v", p, err)
	}

	// An agent that says nothing is one of protocol 1 as first released: it runs every kind of it,
	// and none added since.
	p, err = AgentPeer(http.Header{})
	if err != nil || p.Announced || p.Protocol != 1 || !slices.Equal(p.Kinds, KindsV1) || p.Runs(KindRetentionExpireSnapshots) ||
		p.Runs(KindBrowse) || p.Runs(KindFetch) {
		t.Errorf("silent agent = %+v, %v", p, err)
	}
	if _, err := AgentPeer(http.Header{HeaderAgentProtocol: {"one"}}); err == nil {
		t.Error("a protocol that is no number accepted")
	}

	h = http.Header{}
	SetVaultHeaders(h, []string{CapHeartbeatNamespaces, CapClaimKinds})
	v := VaultPeer(h)
	if !v.Announced || v.Protocol != Protocol || !v.Has(CapClaimKinds) || v.Has("time-travel") {
		t.Errorf("vault peer = %+v", v)
	}
	if v := VaultPeer(http.Header{}); v.Announced || v.Protocol != 1 || len(v.Capabilities) != 0 {
		t.Errorf("silent vault = %+v", v)
	}
}
