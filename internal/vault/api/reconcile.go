package api

import (
	"fmt"
	"net/http"

	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// reconcileInstance queues the first page of the inventory of the instance's repository, which
// rebuilds its catalogue from storage (docs/design/vault.md, "The catalogue rebuilt from
// storage"); each page queues the next.
func (s *Server) reconcileInstance(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	in, err := s.st.GetInstance(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	ji, err := jobsInstance(in)
	if err != nil {
		return err
	}
	job, err := s.jobs.Queue(r.Context(), p.Vault, jobs.InventoryJob(ji, "", jobs.TriggerUser, p.Name))
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	return writeJSON(w, http.StatusAccepted, apiJob(job))
}
