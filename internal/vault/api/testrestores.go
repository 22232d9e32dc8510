package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// testRestoreInstance queues a test restore of the instance now (docs/design/monitoring.md,
// "Automatic test restores"): of the recovery point asked for, else its newest good one, into the
// cluster asked for, else its policy's test restore cluster, else its own; with its policy's
// checks and ready timeout.
func (s *Server) testRestoreInstance(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req vaultv1.TestRestoreRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			return err
		}
	}
	ctx := r.Context()
	in, err := s.st.GetInstance(ctx, p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	pol, err := s.st.GetPolicy(ctx, p.Vault, in.Policy)
	if err != nil {
		return err
	}
	tr := policy.TestRestore{}
	if pol.TestRestore != nil {
		tr = *pol.TestRestore
	}
	rp, err := s.testRestorePoint(ctx, p.Vault, in.Name, req.RecoveryPoint)
	if err != nil {
		return err
	}
	target := in.Cluster
	switch {
	case req.Cluster != "":
		target = req.Cluster
	case tr.Cluster != "":
		target = tr.Cluster
	}
	if err := s.agentReady(ctx, p.Vault, target, "cluster"); err != nil {
		return err
	}
	ji, err := jobsInstance(in)
	if err != nil {
		return err
	}
	nj, err := jobs.TestRestoreJob(ji, rp.Name, rp.Namespaces, rp.Cluster, target, tr, s.now(), jobs.TriggerOnDemand, p.Name)
	if err != nil {
		return err
	}
	job, err := s.jobs.QueueTestRestore(ctx, p.Vault, nj, false)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	return writeJSON(w, http.StatusAccepted, apiJob(job))
}

// testRestorePoint is the named recovery point of the instance, or its newest good one.
func (s *Server) testRestorePoint(ctx context.Context, vault, instance, name string) (store.RecoveryPoint, error) {
	if name != "" {
		rp, err := s.st.GetRecoveryPoint(ctx, vault, name)
		if err == nil {
			err = rp.Usable()
		}
		if err != nil {
			return rp, err
		}
		if rp.Instance != instance {
			return rp, unprocessable("recoveryPoint", "%q is a recovery point of instance %q, not %q", name, rp.Instance, instance)
		}
		return rp, nil
	}
	list, err := s.st.ListRecoveryPoints(ctx, vault, store.RecoveryPointFilter{Instance: instance}, store.Page{Limit: 1000})
	if err != nil {
		return store.RecoveryPoint{}, err
	}
	for _, rp := range list.Items {
		if rp.Phase == archive.PhaseCompleted {
			return rp, nil
		}
	}
	return store.RecoveryPoint{}, &apiError{status: http.StatusConflict, code: "conflict",
		message: fmt.Sprintf("instance %q has no good recovery point to test-restore: back it up first (cairn instance backup-now)", instance)}
}

// fillTestRestores sets each instance's newest test restore.
func (s *Server) fillTestRestores(ctx context.Context, vault string, ins []vaultv1.Instance) {
	s.eachLatestJob(ctx, vault, ins, "test restore", s.st.LatestTestRestores, func(in *vaultv1.Instance, j jobs.Job) {
		t := &vaultv1.TestRestoreStatus{State: string(j.State), JobID: j.ID, RecoveryPoint: j.RecoveryPoint, Cluster: j.Cluster,
			At: j.FinishedAt, Error: j.Error}
		if j.StartedAt != nil && j.FinishedAt != nil {
			t.TookSeconds = j.FinishedAt.Sub(*j.StartedAt).Round(time.Second).Seconds()
		}
		if j.Result != nil {
			t.Checks = apiChecks(j.Result.Checks)
		}
		in.LastTestRestore = t
	})
}
