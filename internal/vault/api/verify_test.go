package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

// TestVerifyOnDemandAndResults: an operator queues a verification of a recovery point (data by
// default); a second one waits for the first (409); the point's verification follows its newest
// verify job through its states, in the list and alone, with the problems its agent found.
func TestVerifyOnDemandAndResults(t *testing.T) {
	f := newFixture(t)
	rp := f.recoveryPoint(t, "vshop")
	path := "/api/v1/recovery-points/" + rp.Name
	op := f.tokens[access.RoleOperator]

	point := func() vaultv1.RecoveryPoint {
		t.Helper()
		rec := f.do(t, "GET", path, f.tokens[access.RoleReader], "")
		var got vaultv1.RecoveryPoint
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil {
			t.Fatalf("get: %d %s", rec.Code, rec.Body)
		}
		var list vaultv1.List[vaultv1.RecoveryPoint]
		rec = f.do(t, "GET", "/api/v1/recovery-points?instance=vshop", f.tokens[access.RoleReader], "")
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &list) != nil || len(list.Items) != 1 {
			t.Fatalf("list: %d %s", rec.Code, rec.Body)
		}
		if a, b := mustJSON(got.Verification), mustJSON(list.Items[0].Verification); a != b {
			t.Errorf("the list says %s, the point %s", b, a)
		}
		return got
	}
	if v := point().Verification; v != nil {
		t.Fatalf("never verified, yet %+v", v)
	}

	rec := f.do(t, "POST", path+"/verify", op, "")
	var job vaultv1.Job
	if rec.Code != http.StatusAccepted || json.Unmarshal(rec.Body.Bytes(), &job) != nil {
		t.Fatalf("verify: %d %s", rec.Code, rec.Body)
	}
	if job.Kind != agentv1.KindVerify || job.Instance != "vshop" || job.Cluster != "c-vshop" || job.Trigger != "on-demand" ||
		job.CreatedBy != "operator-user" || job.Spec.Verify == nil || job.Spec.Verify.Level != vaultv1.VerifyData ||
		job.Spec.Verify.RecoveryPoint != rp.Name || !strings.HasPrefix(job.Spec.Verify.Storage.URL, "s3://backups/vshop") ||
		rec.Header().Get("Location") != jobPath(job.ID, "") {
		t.Errorf("queued %+v (spec %+v), Location %q", job, job.Spec.Verify, rec.Header().Get("Location"))
	}
	if v := point().Verification; v == nil || *v != (vaultv1.Verification{Level: vaultv1.VerifyData, State: vaultv1.VerificationQueued,
		At: fixedClock(), Job: job.ID, Trigger: "on-demand"}) {
		t.Errorf("queued verification %+v", v)
	}
	rec = f.do(t, "POST", path+"/verify", op, `{"level":"structure"}`)
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "is being verified: job") {
		t.Errorf("a second verification while one is queued: %d %s", rec.Code, rec.Body)
	}

	f.claim(t, "c-vshop", job.ID)
	if v := point().Verification; v == nil || v.State != vaultv1.VerificationRunning {
		t.Errorf("running verification %+v", v)
	}
	problems := []string{"backups/x/packs/1 holds 10 bytes, the manifest says 20", "backups/x/index is missing"}
	if err := f.srv.jobs.Complete(t.Context(), "prod", "c-vshop", job.ID, agentv1.Completion{State: agentv1.JobFailed,
		Error: "recovery point is damaged: 3 problem(s)", Result: &agentv1.JobResult{Errors: problems,
			Verify: &agentv1.VerifyResult{Level: vaultv1.VerifyData, Files: 3, Problems: 3}}}); err != nil {
		t.Fatal(err)
	}
	if v := point().Verification; v == nil || *v != (vaultv1.Verification{Level: vaultv1.VerifyData, State: vaultv1.VerificationFailed,
		At: fixedClock(), Job: job.ID, Trigger: "on-demand", Problems: 3, FirstProblem: problems[0]}) {
		t.Errorf("failed verification %+v", v)
	}
	rec = f.do(t, "GET", jobPath(job.ID, ""), op, "")
	if err := json.Unmarshal(rec.Body.Bytes(), &job); err != nil || job.Result == nil || job.Result.Verify == nil ||
		*job.Result.Verify != (vaultv1.VerifyResult{Level: vaultv1.VerifyData, Files: 3, Problems: 3}) {
		t.Errorf("the job's verify result: %s", rec.Body)
	}

	// A structure verification that passes replaces it; one that fails without problems says why.
	rec = f.do(t, "POST", path+"/verify", op, `{"level":"structure"}`)
	if rec.Code != http.StatusAccepted || json.Unmarshal(rec.Body.Bytes(), &job) != nil || job.Spec.Verify.Level != vaultv1.VerifyStructure {
		t.Fatalf("structure: %d %s", rec.Code, rec.Body)
	}
	f.claim(t, "c-vshop", job.ID)
	if err := f.srv.jobs.Complete(t.Context(), "prod", "c-vshop", job.ID, agentv1.Completion{State: agentv1.JobSucceeded}); err != nil {
		t.Fatal(err)
	}
	if v := point().Verification; v == nil || v.Level != vaultv1.VerifyStructure || v.State != vaultv1.VerificationPassed || v.Problems != 0 || v.FirstProblem != "" {
		t.Errorf("passed verification %+v", v)
	}
	rec = f.do(t, "POST", path+"/verify", op, `{"level":"data"}`)
	if rec.Code != http.StatusAccepted || json.Unmarshal(rec.Body.Bytes(), &job) != nil {
		t.Fatalf("data: %d %s", rec.Code, rec.Body)
	}
	f.claim(t, "c-vshop", job.ID)
	if err := f.srv.jobs.Complete(t.Context(), "prod", "c-vshop", job.ID, agentv1.Completion{State: agentv1.JobFailed,
		Error: "open storage: connection refused"}); err != nil {
		t.Fatal(err)
	}
	if v := point().Verification; v == nil || v.State != vaultv1.VerificationFailed || v.Problems != 0 || v.FirstProblem != "open storage: connection refused" {
		t.Errorf("a verification that could not read the point %+v", v)
	}
}

func TestVerifyRefusals(t *testing.T) {
	f := newFixture(t)
	rp := f.recoveryPoint(t, "rshop")
	op := f.tokens[access.RoleOperator]
	for _, tc := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/api/v1/recovery-points/nope/verify", "", http.StatusNotFound, `recovery point \"nope\"`},
		{"/api/v1/recovery-points/" + rp.Name + "/verify", `{"level":"sample"}`, http.StatusUnprocessableEntity, `level: \"sample\": use data or structure`},
		{"/api/v1/recovery-points/" + rp.Name + "/verify", `{"level":`, http.StatusBadRequest, ""},
		{"/api/v1/recovery-points/" + rp.Name + "/verify", `{"levels":"data"}`, http.StatusBadRequest, "levels"},
	} {
		rec := f.do(t, "POST", tc.path, op, tc.body)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s %s: %d %s, want %d %q", tc.path, tc.body, rec.Code, rec.Body, tc.status, tc.want)
		}
	}
	rec := f.do(t, "POST", "/api/v1/instances/rshop/stop", f.tokens[access.RoleContributor], `{"deleteData":true}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("stop: %d %s", rec.Code, rec.Body)
	}
	rec = f.do(t, "POST", "/api/v1/recovery-points/"+rp.Name+"/verify", op, "")
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "bring it back first (cairn recovery-point undelete") {
		t.Errorf("verify while the data is deleted: %d %s", rec.Code, rec.Body)
	}
}
