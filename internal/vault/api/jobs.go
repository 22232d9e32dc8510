package api

import (
	"net/http"
	"strconv"

	"github.com/cairnbackup/cairn/internal/vault/store"
)

func jobID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &apiError{status: http.StatusNotFound, code: "not_found", message: "job " + strconv.Quote(r.PathValue("id")) + ": job IDs are positive numbers"}
	}
	return id, nil
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, err := s.st.ListJobs(r.Context(), p.Vault, store.JobFilter{State: q.Get("state"), Kind: q.Get("kind"), Instance: q.Get("instance"),
		Cluster: q.Get("cluster"), RecoveryPoint: q.Get("recoveryPoint")}, pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	j, err := s.st.GetJob(r.Context(), p.Vault, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, j)
}

func (s *Server) jobLogs(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	var after int64
	if a := r.URL.Query().Get("after"); a != "" {
		if after, err = strconv.ParseInt(a, 10, 64); err != nil || after < 0 {
			return badRequest("after: "+strconv.Quote(a)+" is not a log line number", "after")
		}
	}
	pg, err := page(r)
	if err != nil {
		return err
	}
	logs, err := s.st.JobLogs(r.Context(), p.Vault, id, after, pg.Limit)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, logs)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, p store.Principal) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	j, err := s.st.CancelJob(r.Context(), p.Vault, id, p.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, j)
}
