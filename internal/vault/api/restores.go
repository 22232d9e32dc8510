package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// createRestore validates a restore request and queues it for the target cluster's agent, which
// runs its pre-flight checks (storage, permissions, conflicts) before touching anything.
func (s *Server) createRestore(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var req vaultv1.RestoreRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.RecoveryPoint == "" {
		return unprocessable("recoveryPoint", "required (cairn recovery-point list)")
	}
	if err := validateRestoreOptions(req.Options); err != nil {
		return err
	}
	ctx := r.Context()
	rp, err := s.st.GetRecoveryPoint(ctx, p.Vault, req.RecoveryPoint)
	if err == nil {
		err = rp.Usable()
	}
	if errors.Is(err, store.ErrNotFound) {
		return unprocessable("recoveryPoint", "%q does not exist or was deleted (cairn recovery-point list)", req.RecoveryPoint)
	}
	if err != nil {
		return err
	}
	if rp.Phase == archive.PhaseFailed {
		return unprocessable("recoveryPoint", "%q is from a failed backup and cannot be restored", rp.Name)
	}
	in, err := s.st.GetInstance(ctx, p.Vault, rp.Instance)
	if err != nil {
		return fmt.Errorf("instance of recovery point %q: %w", rp.Name, err)
	}
	target := req.TargetCluster
	if target == "" {
		target = rp.Cluster
	}
	if err := s.agentReady(ctx, p.Vault, target, "targetCluster"); err != nil {
		return err
	}
	ji, err := jobsInstance(in)
	if err != nil {
		return err
	}
	nj, err := jobs.RestoreJob(ji, rp.Name, rp.Cluster, target, protocolRestoreOptions(req.Options), p.Name)
	if err != nil {
		return err
	}
	job, err := s.jobs.Queue(ctx, p.Vault, nj)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	return writeJSON(w, http.StatusAccepted, apiJob(job))
}

// agentReady checks that cluster is registered and its agent reports, so that a job queued for it
// runs; field names the request field a refusal (422) is about.
func (s *Server) agentReady(ctx context.Context, vault, cluster, field string) error {
	cl, err := s.st.GetCluster(ctx, vault, cluster)
	if errors.Is(err, store.ErrNotFound) {
		return unprocessable(field, "%q is not registered with this vault (cairn cluster list)", cluster)
	}
	if err != nil {
		return err
	}
	switch cl.Health {
	case store.HealthRevoked:
		return unprocessable(field, "%q has its trust grant revoked", cluster)
	case store.HealthPending:
		return unprocessable(field, "%q has no agent reporting yet (cairn agent install)", cluster)
	case store.HealthUnhealthy:
		return unprocessable(field, "the agent of %q stopped reporting (last heartbeat %s)", cluster, cl.LastHeartbeat.Format("2006-01-02T15:04:05Z"))
	}
	return nil
}
