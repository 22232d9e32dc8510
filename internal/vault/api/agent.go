package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
)

// The agent routes: p.Name is the agent's cluster; a job of another cluster is not found.

func (s *Server) agentHeartbeat(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var hb agentv1.Heartbeat
	if err := decodeJSON(r, &hb); err != nil {
		return err
	}
	if err := hb.Validate(); err != nil {
		return invalid(err)
	}
	for i, ns := range hb.Namespaces {
		if err := validateDNSLabel(fmt.Sprintf("namespaces[%d]", i), ns, 63); err != nil {
			return err
		}
	}
	if err := s.st.Heartbeat(r.Context(), p.Vault, p.Name, storeHeartbeat(hb)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// claimPoll is how often a waiting claim looks for a queued job.
const claimPoll = 250 * time.Millisecond

// agentClaim long-polls: it answers with a job as soon as one is queued for the agent's cluster,
// or 204 after ClaimWait, or at once when the server starts draining.
func (s *Server) agentClaim(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	ctx := r.Context()
	deadline := time.NewTimer(s.cfg.ClaimWait)
	defer deadline.Stop()
	tick := time.NewTicker(claimPoll)
	defer tick.Stop()
	kinds := agentPeer(ctx).Kinds
	if len(kinds) == 0 {
		w.WriteHeader(http.StatusNoContent) // an agent that runs no kind gets no job
		return nil
	}
	for {
		job, ok, err := s.jobs.Claim(ctx, p.Vault, p.Name, s.cfg.Lease, kinds...)
		if err != nil {
			return err
		}
		if ok {
			s.log.InfoContext(ctx, "job claimed", "vault", p.Vault, "cluster", p.Name, "job", job.ID, "kind", job.Kind, "instance", job.Instance)
			if err := s.jobs.Log(ctx, job.ID, "info", "claimed by the agent of cluster "+p.Name); err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, protocolJob(job))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			w.WriteHeader(http.StatusNoContent)
			return nil
		case <-s.cfg.Draining:
			w.WriteHeader(http.StatusNoContent)
			return nil
		case <-tick.C:
		}
	}
}

func (s *Server) agentProgress(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	var rep agentv1.ProgressReport
	if err := decodeJSON(r, &rep); err != nil {
		return err
	}
	if err := rep.Validate(); err != nil {
		return invalid(err)
	}
	cancel, err := s.jobs.ReportProgress(r.Context(), p.Vault, p.Name, id, rep, s.cfg.Lease)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, agentv1.ProgressReply{Cancel: cancel})
}

func (s *Server) agentComplete(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	var c agentv1.Completion
	if err := decodeJSON(r, &c); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return invalid(err)
	}
	if err := s.jobs.Complete(r.Context(), p.Vault, p.Name, id, c); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "job completed", "vault", p.Vault, "cluster", p.Name, "job", id, "state", c.State)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
