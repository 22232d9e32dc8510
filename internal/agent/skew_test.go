package agent

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/agentv1/skewtest"
)

// previousVault answers as the previous release's vault did (recorded): no protocol headers,
// heartbeats and completions 204, the recorded job of each kind, the recorded progress reply. It
// refuses, as that vault did, any field of a request body it did not know: those of the
// previous agent's recorded requests.
type previousVault struct {
	t    *testing.T
	srv  *httptest.Server
	mu   sync.Mutex
	jobs [][]byte
	seen map[string]int
	done map[int64]map[string]any
}

func newPreviousVault(t *testing.T) *previousVault {
	v := &previousVault{t: t, seen: map[string]int{}, done: map[int64]map[string]any{}}
	for _, kind := range []string{"backup", "restore", "delete", "verify"} {
		_, data, err := skewtest.Recorded(skewtest.Previous, "vault-claim-"+kind+"-reply.json")
		if err != nil {
			t.Fatal(err)
		}
		v.jobs = append(v.jobs, data)
	}
	known := func(files ...string) []any {
		var out []any
		for _, f := range files {
			m, _, err := skewtest.Recorded(skewtest.Previous, f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
		return out
	}
	heartbeat := known("agent-heartbeat.json")
	progress := known("agent-progress.json")
	completion := known("agent-complete-backup.json", "agent-complete-restore.json", "agent-complete-delete.json", "agent-complete-verify.json")
	check := func(w http.ResponseWriter, r *http.Request, route string, shapes []any) (map[string]any, bool) {
		v.mu.Lock()
		v.seen[route]++
		v.mu.Unlock()
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("%s: %v", route, err)
		}
		if u := skewtest.Unknown(body, shapes...); len(u) > 0 {
			t.Errorf("%s: the previous vault refuses unknown fields %v", route, u)
			w.WriteHeader(http.StatusBadRequest)
			return nil, false
		}
		return body, true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"major":"1","minor":"35","gitVersion":"v1.35.4"}`)
	})
	mux.HandleFunc("GET /api/v1/namespaces", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"kind":"NamespaceList","apiVersion":"v1","items":[{"metadata":{"name":"shop"}}]}`)
	})
	mux.HandleFunc("POST /api/v1/agent/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := check(w, r, "heartbeat", heartbeat); ok {
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("POST /api/v1/agent/claim", func(w http.ResponseWriter, _ *http.Request) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if len(v.jobs) == 0 {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		_, _ = w.Write(v.jobs[0])
		v.jobs = v.jobs[1:]
	})
	mux.HandleFunc("POST /api/v1/agent/jobs/{id}/progress", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := check(w, r, "progress", progress); ok {
			_, data, _ := skewtest.Recorded(skewtest.Previous, "vault-progress-reply.json")
			_, _ = w.Write(data)
		}
	})
	mux.HandleFunc("POST /api/v1/agent/jobs/{id}/complete", func(w http.ResponseWriter, r *http.Request) {
		if body, ok := check(w, r, "complete", completion); ok {
			v.mu.Lock()
			v.done[jobID(r)] = body
			v.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}
	})
	v.srv = httptest.NewServer(mux)
	t.Cleanup(v.srv.Close)
	return v
}

// TestVaultOfThePreviousRelease runs this agent against the previous release's vault: it takes
// the jobs of every kind as that vault sent them, and what it sends back is what that vault took.
func TestVaultOfThePreviousRelease(t *testing.T) {
	v := newPreviousVault(t)
	ran := map[string]*agentv1.Job{}
	var mu sync.Mutex
	a, err := newAgent(Options{VaultURL: v.srv.URL, Token: "agent-token", Config: &rest.Config{Host: v.srv.URL}, Version: "v0.test",
		HeartbeatEvery: 20 * time.Millisecond, ProgressEvery: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a.t.batchWindow, a.t.minClaimInterval = 2*time.Millisecond, 5*time.Millisecond
	a.execute = func(_ context.Context, j *jobRun) outcome {
		mu.Lock()
		ran[j.job.Kind] = j.job
		mu.Unlock()
		j.log.Info("working")
		j.progress(120, 4096, "configmaps")
		time.Sleep(50 * time.Millisecond) // long enough for a progress report
		switch j.job.Kind {
		case agentv1.KindBackup:
			s := j.job.Spec.Backup
			return outcome{state: agentv1.JobSucceeded, result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Name: s.RecoveryPoint,
				Instance: j.job.Instance, Cluster: j.job.Cluster, Phase: "Completed", Items: 120, Namespaces: []string{"shop"}, Job: j.job.ID}}}
		case agentv1.KindRestore:
			return outcome{state: agentv1.JobSucceeded, result: &agentv1.JobResult{Checks: []agentv1.Check{{Name: "agent", OK: true, Message: "ok"}},
				Restore: &agentv1.RestoreSummary{Name: j.job.Spec.Restore.Name, Phase: "Completed", DryRun: true, Created: 1,
					Items: []agentv1.RestoreItem{{Resource: "configmaps", Namespace: "shop-copy", Name: "web", Action: "create"}}}}}
		case agentv1.KindVerify:
			return outcome{state: agentv1.JobFailed, err: "damaged", result: &agentv1.JobResult{Errors: []string{"pack: checksum mismatch"}}}
		}
		return outcome{state: agentv1.JobSucceeded, result: &agentv1.JobResult{}}
	}
	start(t, a)
	waitFor(t, "four completions", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return len(v.done) == 4 && v.seen["progress"] > 0 && v.seen["heartbeat"] > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if b := ran[agentv1.KindBackup]; b == nil || b.Spec.Backup == nil || b.Spec.Backup.RecoveryPoint != "shop-20260301120000" ||
		!b.Spec.Backup.Config.SnapshotVolumes || b.Spec.Backup.Storage.PassphraseSecret != "prod-repo" || b.Spec.Backup.ExpiresAt == nil {
		t.Errorf("backup job as the agent read it: %+v", b)
	}
	if r := ran[agentv1.KindRestore]; r == nil || r.Spec.Restore == nil || r.Spec.Restore.Options.NamespaceMapping["shop"] != "shop-copy" ||
		!r.Spec.Restore.Options.DryRun || r.Spec.Restore.Options.ConflictPolicy != "patch" {
		t.Errorf("restore job as the agent read it: %+v", r)
	}
	if d := ran[agentv1.KindRetentionDelete]; d == nil || d.Spec.Delete == nil || d.Spec.Delete.RecoveryPoint != "shop-20260301120000" {
		t.Errorf("delete job as the agent read it: %+v", d)
	}
	if ver := ran[agentv1.KindVerify]; ver == nil || ver.Spec.Verify == nil {
		t.Errorf("verify job as the agent read it: %+v", ver)
	}
	if peer, heard := a.vault.Vault(); !heard || peer.Announced || peer.Protocol != 1 || len(peer.Capabilities) != 0 {
		t.Errorf("the previous vault said nothing of its protocol, the agent heard %+v", peer)
	}
	if got := v.done[4]["state"]; got != agentv1.JobFailed || !strings.Contains(v.done[4]["error"].(string), "damaged") {
		t.Errorf("the failed verification reached the vault as %v", v.done[4])
	}
}
