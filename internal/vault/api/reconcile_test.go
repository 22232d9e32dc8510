package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

func init() {
	validationMatrixCalls["POST /api/v1/instances/{name}/reconcile"] = func(t *testing.T, f *fixture, token, u string) (*http.Request, func(*testing.T, bool)) {
		name := "rec-" + u
		f.instance(t, name)
		return newRequest(t, "POST", "/api/v1/instances/"+name+"/reconcile", token, ""), func(t *testing.T, allowed bool) {
			list, err := f.st.ListJobs(t.Context(), "prod", store.JobFilter{Instance: name, Kind: string(jobs.KindInventory)}, store.Page{})
			if err != nil || allowed != (len(list.Items) == 1) {
				t.Errorf("allowed %v, jobs %+v %v", allowed, list, err)
			}
		}
	}
}

// TestReconcileRecoversPointsFromStorage has an operator reconcile an instance whose catalogue lost
// a point: the agent's inventory (a fake agent here) brings it back, readable through the API
// like the points backups made.
func TestReconcileRecoversPointsFromStorage(t *testing.T) {
	f := newFixture(t)
	known := f.recoveryPoint(t, "shop")
	rec := f.do(t, "POST", "/api/v1/instances/shop/reconcile", f.tokens[access.RoleOperator], "")
	var job vaultv1.Job
	if rec.Code != http.StatusAccepted || json.Unmarshal(rec.Body.Bytes(), &job) != nil || job.Kind != agentv1.KindInventory ||
		!strings.HasSuffix(rec.Header().Get("Location"), jobPath(job.ID, "")) {
		t.Fatalf("reconcile: %d %s", rec.Code, rec.Body)
	}
	claimed := f.claim(t, "c-shop", job.ID)
	if s := claimed.Spec.Inventory; s == nil || s.Instance != "shop" || !strings.HasPrefix(s.Storage.URL, "s3://backups/shop") || s.After != "" {
		t.Fatalf("inventory spec %+v", claimed.Spec)
	}
	lost := "shop-20261124000000"
	err := f.srv.jobs.Complete(t.Context(), "prod", "c-shop", job.ID, agentv1.Completion{State: agentv1.JobSucceeded,
		Result: &agentv1.JobResult{Inventory: &agentv1.InventoryResult{Points: []agentv1.RecoveryPoint{
			{Name: known.Name, Phase: archive.PhaseCompleted},
			{Name: lost, Phase: archive.PhaseCompleted, Items: 7, StoredBytes: 1 << 20, Time: fixedClock().Add(-24 * 3600e9)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	rec = f.do(t, "GET", "/api/v1/recovery-points/"+lost, f.tokens[access.RoleReader], "")
	var rp vaultv1.RecoveryPoint
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &rp) != nil || rp.Instance != "shop" || rp.Items != 7 {
		t.Fatalf("recovered point: %d %s", rec.Code, rec.Body)
	}
	if logs := f.do(t, "GET", jobPath(job.ID, "/logs"), f.tokens[access.RoleReader], ""); !strings.Contains(logs.Body.String(), "recovered recovery point "+lost) {
		t.Errorf("the job's log does not say what it recovered: %s", logs.Body)
	}
}
