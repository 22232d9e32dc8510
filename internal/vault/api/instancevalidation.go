package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// validateInstance queues a validation of the instance: its agent checks what a backup will need
// (docs/design/monitoring.md, "Validation before the first backup").
func (s *Server) validateInstance(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	in, err := s.st.GetInstance(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	job, err := s.queueValidation(r.Context(), p.Vault, in, p.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	return writeJSON(w, http.StatusAccepted, apiJob(job))
}

func (s *Server) queueValidation(ctx context.Context, vault string, in store.Instance, by string) (jobs.Job, error) {
	ji, err := jobsInstance(in)
	if err != nil {
		return jobs.Job{}, err
	}
	return s.jobs.Queue(ctx, vault, jobs.ValidateJob(ji, jobs.TriggerOnDemand, by))
}

// fillValidations sets each instance's newest validation.
func (s *Server) fillValidations(ctx context.Context, vault string, ins []vaultv1.Instance) {
	s.eachLatestJob(ctx, vault, ins, "validation", s.st.LatestValidations, func(in *vaultv1.Instance, j jobs.Job) {
		v := &vaultv1.Validation{State: string(j.State), JobID: j.ID, At: j.FinishedAt, Error: j.Error}
		if j.Result != nil {
			v.Checks = apiChecks(j.Result.Checks)
		}
		in.Validation = v
	})
}

// eachLatestJob calls set with each instance's newest job of a kind, as latest reads them; what
// cannot be read is logged (what names the kind) and left out.
func (s *Server) eachLatestJob(ctx context.Context, vault string, ins []vaultv1.Instance, what string,
	latest func(ctx context.Context, vault string, names []string) (map[string]jobs.Record, error), set func(*vaultv1.Instance, jobs.Job)) {
	names := make([]string, len(ins))
	for i, in := range ins {
		names[i] = in.Name
	}
	records, err := latest(ctx, vault, names)
	if err != nil {
		s.log.WarnContext(ctx, "newest jobs not read", "vault", vault, "kind", what, "error", err)
		return
	}
	for i := range ins {
		r, ok := records[ins[i].Name]
		if !ok {
			continue
		}
		j, err := r.Decode()
		if err != nil {
			s.log.WarnContext(ctx, "newest job not read", "vault", vault, "kind", what, "job", r.ID, "error", err)
			continue
		}
		set(&ins[i], j)
	}
}

// apiChecks are a job result's checks in the API's shape.
func apiChecks(checks []agentv1.Check) []vaultv1.Check {
	var out []vaultv1.Check
	for _, c := range checks {
		out = append(out, vaultv1.Check(c))
	}
	return out
}
