package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

// TestHeartbeatNamespaces: the namespaces an agent reports are served with its cluster, kept
// while its heartbeats carry none, and refused (422, the list unchanged) when one is no
// namespace name.
func TestHeartbeatNamespaces(t *testing.T) {
	f := newFixture(t)
	reader := f.tokens[access.RoleReader]
	heartbeat := func(body string) int {
		t.Helper()
		return f.do(t, "POST", "/api/v1/agent/heartbeat", f.agentToken, body).Code
	}
	served := func() (one, listed []string) {
		t.Helper()
		rec := f.do(t, "GET", "/api/v1/clusters/"+agentCluster, reader, "")
		var c vaultv1.Cluster
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &c) != nil {
			t.Fatalf("get cluster: %d %s", rec.Code, rec.Body)
		}
		rec = f.do(t, "GET", "/api/v1/clusters", reader, "")
		var list vaultv1.List[vaultv1.Cluster]
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &list) != nil {
			t.Fatalf("list clusters: %d %s", rec.Code, rec.Body)
		}
		for _, l := range list.Items {
			if l.Name == agentCluster {
				listed = l.Namespaces
			}
		}
		return c.Namespaces, listed
	}

	if one, _ := served(); one != nil {
		t.Fatalf("before any list: %q", one)
	}
	if code := heartbeat(`{"agentVersion":"v1","kubernetesVersion":"v1.35.4","namespaces":["shop","default"]}`); code != http.StatusNoContent {
		t.Fatalf("heartbeat: %d", code)
	}
	want := []string{"default", "shop"}
	if one, listed := served(); !slices.Equal(one, want) || !slices.Equal(listed, want) {
		t.Fatalf("served %q, listed %q; want %q", one, listed, want)
	}
	if code := heartbeat(`{"agentVersion":"v1","kubernetesVersion":"v1.35.4"}`); code != http.StatusNoContent {
		t.Fatalf("heartbeat without namespaces: %d", code)
	}
	if one, _ := served(); !slices.Equal(one, want) {
		t.Errorf("after a heartbeat without namespaces: %q, want %q kept", one, want)
	}
	rec := f.do(t, "POST", "/api/v1/agent/heartbeat", f.agentToken, `{"agentVersion":"v1","kubernetesVersion":"v1.35.4","namespaces":["default","Shop!"]}`)
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusUnprocessableEntity || e.Field != "namespaces[1]" {
		t.Errorf("a bad name: %d %+v", rec.Code, e)
	}
	if one, _ := served(); !slices.Equal(one, want) {
		t.Errorf("after a refused heartbeat: %q, want %q kept", one, want)
	}
}
