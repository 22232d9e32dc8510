package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/access"
)

// DefaultSoftDeleteDays is how long a deleted recovery point is kept unless the vault says.
const DefaultSoftDeleteDays = 14

// purgeAfter is when a recovery point deleted now is purged.
func (s *Server) purgeAfter() time.Time {
	return s.now().Add(time.Duration(s.cfg.SoftDeleteDays) * 24 * time.Hour).UTC().Truncate(time.Second)
}

// deleteRecoveryPoint soft-deletes a recovery point: it is kept, listed with ?deleted=true and can
// be brought back until its purge.
func (s *Server) deleteRecoveryPoint(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	rp, err := s.st.SoftDeleteRecoveryPoint(r.Context(), p.Vault, r.PathValue("name"), p.Name, s.purgeAfter())
	if err != nil {
		return err
	}
	noteAudit(r, fmt.Sprintf("purged after %s", rp.SoftDeleted.PurgeAfter.Format(time.RFC3339)))
	return writeJSON(w, http.StatusOK, apiRecoveryPoint(rp))
}

// undeleteRecoveryPoint brings back a soft-deleted recovery point before its purge.
func (s *Server) undeleteRecoveryPoint(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	rp, err := s.st.UndeleteRecoveryPoint(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiRecoveryPoint(rp))
}
