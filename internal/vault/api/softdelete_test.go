package api

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// TestDeletedPointIsBroughtBackAndRestorable: a contributor deletes a recovery point; it is
// listed as deleted, a restore of it is refused naming undelete; an operator brings it back and
// the restore is queued.
func TestDeletedPointIsBroughtBackAndRestorable(t *testing.T) {
	f := newFixture(t)
	rp := f.recoveryPoint(t, "shop")
	contributor, op := f.tokens[access.RoleContributor], f.tokens[access.RoleOperator]
	var got vaultv1.RecoveryPoint
	mustDecode(t, f.do(t, "DELETE", "/api/v1/recovery-points/"+rp.Name, contributor, ""), http.StatusOK, &got)
	if got.Deleted == nil || got.Deleted.By != "contributor-user" || !got.Deleted.PurgeAfter.Equal(fixedClock().Add(DefaultSoftDeleteDays*24*time.Hour)) {
		t.Fatalf("deleted %+v", got.Deleted)
	}
	var live, deleted vaultv1.List[vaultv1.RecoveryPoint]
	mustDecode(t, f.do(t, "GET", "/api/v1/recovery-points", op, ""), http.StatusOK, &live)
	mustDecode(t, f.do(t, "GET", "/api/v1/recovery-points?deleted=true", op, ""), http.StatusOK, &deleted)
	if len(live.Items) != 0 || len(deleted.Items) != 1 {
		t.Fatalf("live %d, deleted %d", len(live.Items), len(deleted.Items))
	}
	restore := `{"recoveryPoint":"` + rp.Name + `","options":{}}`
	rec := f.do(t, "POST", "/api/v1/restores", op, restore)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "cairn recovery-point undelete "+rp.Name) {
		t.Fatalf("restore of a deleted point: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "DELETE", "/api/v1/recovery-points/"+rp.Name, op, ""); rec.Code != http.StatusForbidden {
		t.Errorf("an operator deletes: %d", rec.Code)
	}
	var back vaultv1.RecoveryPoint
	mustDecode(t, f.do(t, "POST", "/api/v1/recovery-points/"+rp.Name+"/undelete", op, ""), http.StatusOK, &back)
	if back.Deleted != nil || back.Name != rp.Name {
		t.Fatalf("undeleted %+v", back)
	}
	if rec := f.do(t, "POST", "/api/v1/restores", op, restore); rec.Code != http.StatusAccepted {
		t.Fatalf("restore after undelete: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "GET", "/api/v1/recovery-points?deleted=maybe", op, ""); rec.Code != http.StatusBadRequest {
		t.Errorf("?deleted=maybe: %d", rec.Code)
	}
}

// TestBackupsCarryTheLockAndAnAgentThatIgnoresItIsCaught: the policy's lock reaches an on-demand
// backup's job; an agent that completes it without reporting the lock (one that predates locks)
// leaves the job partially failed saying so, and the point recorded unlocked.
func TestBackupsCarryTheLockAndAnAgentThatIgnoresItIsCaught(t *testing.T) {
	f := newFixture(t)
	f.cluster(t, "c-ledger")
	p := validPolicy("p-ledger")
	p.LockFor = policy.Duration(3 * 24 * time.Hour)
	if err := f.st.CreatePolicy(t.Context(), "prod", p); err != nil {
		t.Fatal(err)
	}
	spec := instanceSpec("ledger")
	spec.LockFor = "1d" // shorter than the policy's: the policy's holds
	rec := f.do(t, "POST", "/api/v1/instances", f.tokens[access.RoleContributor], mustJSON(spec))
	if rec.Code != http.StatusCreated {
		t.Fatalf("instance: %d %s", rec.Code, rec.Body)
	}
	validation := f.claim(t, "c-ledger", f.lastJob(t))
	if err := f.srv.jobs.Complete(t.Context(), "prod", "c-ledger", validation.ID, agentv1.Completion{State: agentv1.JobSucceeded}); err != nil {
		t.Fatal(err)
	}
	spec.Name, spec.LockFor = "other", "30d"
	if rec := f.do(t, "POST", "/api/v1/instances", f.tokens[access.RoleContributor], mustJSON(spec)); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), "longer than retention.default") {
		t.Errorf("a lock longer than the retention: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "POST", "/api/v1/instances/ledger/backup", f.tokens[access.RoleOperator], ""); rec.Code != http.StatusAccepted {
		t.Fatalf("backup: %d %s", rec.Code, rec.Body)
	}
	job := f.claim(t, "c-ledger", f.lastJob(t))
	if job.Spec.Backup.LockForSeconds != 3*24*3600 {
		t.Fatalf("lock of the job %d s, want 3 days", job.Spec.Backup.LockForSeconds)
	}
	if err := f.srv.jobs.Complete(t.Context(), "prod", "c-ledger", job.ID, agentv1.Completion{State: agentv1.JobSucceeded,
		Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: archive.PhaseCompleted, Items: 1, Time: fixedClock()}}}); err != nil {
		t.Fatal(err)
	}
	ended := f.job(t, job.ID)
	if ended.State != jobs.PartiallyFailed || !strings.Contains(ended.Error, "did not lock the recovery point") {
		t.Errorf("job %s %q", ended.State, ended.Error)
	}
	rp, err := f.st.GetRecoveryPoint(t.Context(), "prod", job.Spec.Backup.RecoveryPoint)
	if err != nil || rp.LockedUntil != nil {
		t.Errorf("point %+v %v", rp, err)
	}
}
