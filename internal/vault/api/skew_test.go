package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/agentv1/skewtest"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// TestAgentOfThePreviousRelease replays what the previous release's agent sent (recorded, without
// protocol headers) against this vault: every call is taken, the jobs it claims have every field
// that agent reads, with the values the previous vault gave, and its completions are recorded.
func TestAgentOfThePreviousRelease(t *testing.T) {
	f := newFixture(t)
	rel := skewtest.Previous
	recorded := func(file string) (map[string]any, string) {
		t.Helper()
		m, data, err := skewtest.Recorded(rel, file)
		if err != nil {
			t.Fatal(err)
		}
		return m, string(data)
	}
	// agent calls the vault as that agent did: its token, its body, no protocol headers.
	agent := func(path, body string, want int) (map[string]any, http.Header) {
		t.Helper()
		rec := f.do(t, http.MethodPost, path, f.agentToken, body)
		if rec.Code != want {
			t.Fatalf("%s: %d %s, want %d", path, rec.Code, rec.Body, want)
		}
		var m map[string]any
		if rec.Body.Len() > 0 {
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		return m, rec.Header()
	}
	user := func(role, method, path, body string) {
		t.Helper()
		if rec := f.do(t, method, path, f.tokens[role], body); rec.Code >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
	}
	claim := func(kind string, ignore ...string) int64 {
		t.Helper()
		want, _ := recorded("vault-claim-" + kind + "-reply.json")
		got, _ := agent("/api/v1/agent/claim", "", http.StatusOK)
		if diff := skewtest.Missing(want, got, append(ignore, "id", "createdBy")...); len(diff) > 0 {
			t.Errorf("claimed %s job, as the previous agent reads it:\n%s", kind, strings.Join(diff, "\n"))
		}
		return int64(got["id"].(float64))
	}
	complete := func(id int64, kind string) {
		t.Helper()
		_, body := recorded("agent-complete-" + kind + ".json")
		agent(fmt.Sprintf("/api/v1/agent/jobs/%d/complete", id), body, http.StatusNoContent)
	}

	_, hb := recorded("agent-heartbeat.json")
	_, h := agent("/api/v1/agent/heartbeat", hb, http.StatusNoContent)
	if peer := agentv1.VaultPeer(h); !peer.Announced || !peer.Has(agentv1.CapHeartbeatNamespaces) {
		t.Errorf("the vault does not announce its protocol: %v", h)
	}
	cl, err := f.st.GetCluster(t.Context(), "prod", agentCluster)
	if err != nil || strings.Join(cl.Namespaces, ",") != "default,shop" || cl.AgentVersion != "v0.8.0" {
		t.Errorf("heartbeat not recorded: %+v, %v", cl, err)
	}

	// The objects the recording was made with.
	contributor, operator := access.RoleContributor, access.RoleOperator
	user(contributor, http.MethodPost, "/api/v1/policies", validPolicyJSON(t, "hourly"))
	user(contributor, http.MethodPost, "/api/v1/instances", `{"name":"shop","cluster":"`+agentCluster+`","policy":"hourly",
		"backup":{"includeNamespaces":["shop"],"snapshotVolumes":true,"backupHooks":["shop/freeze"]},
		"storage":{"url":"s3://backups/prod?endpoint=http://127.0.0.1:7070","passphraseSecret":"prod-repo"}}`)
	user(operator, http.MethodPost, "/api/v1/instances/shop/backup", `{"retain":"30d"}`)

	id := claim("backup")
	_, progress := recorded("agent-progress.json")
	reply, _ := agent(fmt.Sprintf("/api/v1/agent/jobs/%d/progress", id), progress, http.StatusOK)
	if want, _ := recorded("vault-progress-reply.json"); len(skewtest.Missing(want, reply)) > 0 {
		t.Errorf("progress reply %v, want the shape of %v", reply, want)
	}
	complete(id, "backup")
	rp, err := f.st.GetRecoveryPoint(t.Context(), "prod", "shop-20260301120000")
	if err != nil || rp.Items != 120 || rp.StoredBytes != 300<<10 || !rp.OnDemand {
		t.Errorf("the previous agent's backup is not recorded as it reported it: %+v, %v", rp, err)
	}

	user(operator, http.MethodPost, "/api/v1/restores", `{"recoveryPoint":"shop-20260301120000","options":{"includeNamespaces":["shop"],
		"namespaceMapping":{"shop":"shop-copy"},"conflictPolicy":"patch","volumes":"data","restoreHooks":["shop/warm"],"dryRun":true}}`)
	id = claim("restore", "spec.restore.name")
	complete(id, "restore")

	user(contributor, http.MethodPost, "/api/v1/instances/shop/stop", `{"deleteData":true}`)
	// The purge of the soft-deleted point, as the scheduler queues it.
	ji, err := jobsInstance(f.instanceNamed(t, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.jobs.QueueDeletions(t.Context(), "prod", ji, jobs.TriggerRetention, "scheduler",
		jobs.Deletion{RecoveryPoint: "shop-20260301120000", Reason: "deleted by contributor-user", GC: true}); err != nil {
		t.Fatal(err)
	}
	id = claim("delete", "trigger", "spec.delete.reason")
	complete(id, "delete")
	if _, err := f.st.GetRecoveryPoint(t.Context(), "prod", "shop-20260301120000"); err == nil {
		t.Error("the previous agent's retention delete did not mark its recovery point deleted")
	}
}

// TestAgentTooOldIsToldToUpgrade: an agent older than the vault's MinProtocol gets 400
// unsupported_protocol naming what to upgrade; every agent route answers with the vault's
// protocol.
func TestAgentTooOldIsToldToUpgrade(t *testing.T) {
	f := newFixture(t)
	req := newRequest(t, http.MethodPost, "/api/v1/agent/claim", f.agentToken, "")
	req.Header.Set(agentv1.HeaderAgentProtocol, fmt.Sprint(agentv1.MinProtocol-1))
	rec := f.serve(req)
	if e := decodeErrorBody(t, rec); rec.Code != http.StatusBadRequest || e.Code != agentv1.CodeUnsupportedProtocol ||
		!strings.Contains(e.Message, "upgrade the agent") {
		t.Errorf("too old an agent: %d %+v", rec.Code, e)
	}
	if p := agentv1.VaultPeer(rec.Header()); !p.Announced || p.Protocol != agentv1.Protocol {
		t.Errorf("the refusal does not say the vault's protocol: %v", rec.Header())
	}
}

// TestClaimHandsOutOnlyKindsTheAgentRuns: a job of a kind the agent did not announce waits for
// an agent that runs it; an agent that announced nothing runs every kind of protocol 1.
func TestClaimHandsOutOnlyKindsTheAgentRuns(t *testing.T) {
	f := newFixture(t)
	verify := f.agentJob(t)
	claim := func(kinds string) int {
		t.Helper()
		req := newRequest(t, http.MethodPost, "/api/v1/agent/claim", f.agentToken, "")
		if kinds != "-" {
			req.Header.Set(agentv1.HeaderAgentProtocol, "1")
			req.Header.Set(agentv1.HeaderAgentKinds, kinds)
		}
		return f.serve(req).Code
	}
	if code := claim("backup, restore"); code != http.StatusNoContent {
		t.Errorf("an agent that runs no verify got %d, want 204", code)
	}
	if j := f.job(t, verify.ID); j.State != jobs.Queued {
		t.Errorf("the verify job is %s, want still queued", j.State)
	}
	if code := claim("-"); code != http.StatusOK {
		t.Errorf("an agent of the previous release got %d for a verify job, want 200", code)
	}
}

// TestClaimAnswersAtOnceWhenTheServerDrains: a claim waiting for a job answers 204 as soon as the
// server starts stopping, instead of holding its shutdown up for the claim's whole wait.
func TestClaimAnswersAtOnceWhenTheServerDrains(t *testing.T) {
	f := newFixture(t)
	draining := make(chan struct{})
	srv := NewServer(f.st, Config{Now: fixedClock, ClaimWait: time.Hour, Draining: draining})
	h := srv.Handler()
	done := make(chan int, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, newRequest(t, http.MethodPost, "/api/v1/agent/claim", f.agentToken, ""))
		done <- rec.Code
	}()
	select {
	case code := <-done:
		t.Fatalf("the claim answered %d before the server drained", code)
	case <-time.After(200 * time.Millisecond):
	}
	close(draining)
	select {
	case code := <-done:
		if code != http.StatusNoContent {
			t.Fatalf("a drained claim answered %d, want 204", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the claim still waits after the server started draining")
	}
}
