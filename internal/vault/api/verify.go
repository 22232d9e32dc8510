package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// The verification of recovery points (docs/design/monitoring.md, "Verification"): queued on
// demand here, on a schedule by the scheduler; each point's newest verify job is its result.

// verifyRecoveryPoint queues a verification of a live recovery point, at the level asked for
// (data by default).
func (s *Server) verifyRecoveryPoint(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req vaultv1.VerifyRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	level := req.Level
	if level == "" {
		level = vaultv1.VerifyData
	}
	if !slices.Contains(vaultv1.VerifyLevels, level) {
		return unprocessable("level", "%q: use %s", req.Level, humanize.OrList(vaultv1.VerifyLevels))
	}
	ctx := r.Context()
	rp, err := s.st.GetRecoveryPoint(ctx, p.Vault, r.PathValue("name"))
	if err == nil {
		err = rp.Usable()
	}
	if err != nil {
		return err
	}
	in, err := s.st.GetInstance(ctx, p.Vault, rp.Instance)
	if err != nil {
		return fmt.Errorf("instance of recovery point %q: %w", rp.Name, err)
	}
	if in.State == vaultv1.InstanceStoppedDeleting {
		return &apiError{status: http.StatusConflict, code: "conflict",
			message: fmt.Sprintf("instance %q is %s: its recovery points are being deleted", in.Name, in.State)}
	}
	latest, err := s.st.LatestVerifications(ctx, p.Vault, []string{rp.Name})
	if err != nil {
		return err
	}
	if j, ok := latest[rp.Name]; ok && (j.State == jobs.Queued || j.State == jobs.Running) {
		return &apiError{status: http.StatusConflict, code: "conflict",
			message: fmt.Sprintf("recovery point %q is being verified: job %d is %s (cairn job logs %d --follow)", rp.Name, j.ID, j.State, j.ID)}
	}
	ji, err := jobsInstance(in)
	if err != nil {
		return err
	}
	job, err := s.jobs.Queue(ctx, p.Vault, jobs.VerifyJob(ji, rp.Name, level, jobs.TriggerOnDemand, p.Name))
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	return writeJSON(w, http.StatusAccepted, apiJob(job))
}

// withVerifications sets each recovery point's newest verification, read in one query.
func (s *Server) withVerifications(ctx context.Context, vault string, rps []vaultv1.RecoveryPoint) error {
	names := make([]string, len(rps))
	for i, rp := range rps {
		names[i] = rp.Name
	}
	latest, err := s.st.LatestVerifications(ctx, vault, names)
	if err != nil {
		return err
	}
	for i := range rps {
		r, ok := latest[rps[i].Name]
		if !ok {
			continue
		}
		j, err := r.Decode()
		if err != nil {
			return err
		}
		rps[i].Verification = apiVerification(j)
	}
	return nil
}

// apiVerification is a verify job as its recovery point's verification.
func apiVerification(j jobs.Job) *vaultv1.Verification {
	v := &vaultv1.Verification{Level: vaultv1.VerifyData, Job: j.ID, Trigger: j.Trigger, At: j.CreatedAt}
	if j.Spec.Verify != nil && j.Spec.Verify.Level != "" {
		v.Level = j.Spec.Verify.Level
	}
	switch {
	case j.FinishedAt != nil:
		v.At = *j.FinishedAt
	case j.StartedAt != nil:
		v.At = *j.StartedAt
	}
	switch j.State {
	case jobs.Queued:
		v.State = vaultv1.VerificationQueued
	case jobs.Running:
		v.State = vaultv1.VerificationRunning
	case jobs.Succeeded:
		v.State = vaultv1.VerificationPassed
	case jobs.Cancelled:
		v.State = vaultv1.VerificationCancelled
	default:
		v.State = vaultv1.VerificationFailed
	}
	if res := j.Result; res != nil {
		v.Problems = len(res.Errors)
		if res.Verify != nil {
			v.Problems = max(v.Problems, res.Verify.Problems)
			if res.Verify.Level != "" {
				v.Level = res.Verify.Level // what the agent did
			}
		}
		if len(res.Errors) > 0 {
			v.FirstProblem = res.Errors[0]
		}
	}
	if v.FirstProblem == "" && v.State == vaultv1.VerificationFailed {
		v.FirstProblem = j.Error
	}
	return v
}

// apiVerifyResult is a verify job's result in the API's shape.
func apiVerifyResult(r *agentv1.VerifyResult) *vaultv1.VerifyResult {
	if r == nil {
		return nil
	}
	out := vaultv1.VerifyResult(*r)
	return &out
}

// apiRecoveryPoints lists recovery points for the API: converted, with their verifications.
func (s *Server) apiRecoveryPoints(ctx context.Context, vault string, l store.List[store.RecoveryPoint]) (vaultv1.List[vaultv1.RecoveryPoint], error) {
	out := apiList(l, apiRecoveryPoint)
	return out, s.withVerifications(ctx, vault, out.Items)
}
