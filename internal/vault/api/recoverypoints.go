package api

import (
	"net/http"
	"strconv"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// page reads ?limit= and ?cursor=.
func page(r *http.Request) (store.Page, error) {
	q := r.URL.Query()
	p := store.Page{Cursor: q.Get("cursor")}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n <= 0 {
			return p, badRequest("limit: "+strconv.Quote(l)+" is not a positive number", "limit")
		}
		p.Limit = n
	}
	return p, nil
}

func (s *Server) listRecoveryPoints(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	deleted := false
	switch v := q.Get("deleted"); v {
	case "", "false":
	case "true":
		deleted = true
	default:
		return badRequest("deleted: "+strconv.Quote(v)+" is not true or false", "deleted")
	}
	list, err := s.st.ListRecoveryPoints(r.Context(), p.Vault, store.RecoveryPointFilter{Instance: q.Get("instance"), Cluster: q.Get("cluster"),
		SoftDeleted: deleted}, pg)
	if err != nil {
		return err
	}
	out, err := s.apiRecoveryPoints(r.Context(), p.Vault, list)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getRecoveryPoint(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	rp, err := s.st.GetRecoveryPoint(r.Context(), p.Vault, r.PathValue("name"))
	if err != nil {
		return err
	}
	out := []vaultv1.RecoveryPoint{apiRecoveryPoint(rp)}
	if err := s.withVerifications(r.Context(), p.Vault, out); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out[0])
}
