package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

func jobID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &apiError{status: http.StatusNotFound, code: "not_found", message: "job " + strconv.Quote(r.PathValue("id")) + ": job IDs are positive numbers"}
	}
	return id, nil
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	pg, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	since, err := sinceParam(r)
	if err != nil {
		return err
	}
	list, err := s.st.ListJobs(r.Context(), p.Vault, store.JobFilter{State: q.Get("state"), Kind: q.Get("kind"), Instance: q.Get("instance"),
		Cluster: q.Get("cluster"), RecoveryPoint: q.Get("recoveryPoint"), Since: since}, pg)
	if err != nil {
		return err
	}
	out, err := apiJobs(list)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// jobCounts counts the jobs created since ?since= (default: the last 24 hours) by state.
func (s *Server) jobCounts(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	since, err := sinceParam(r)
	if err != nil {
		return err
	}
	if since.IsZero() {
		since = s.now().Add(-24 * time.Hour)
	}
	counts, err := s.st.JobCounts(r.Context(), p.Vault, since)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, vaultv1.JobCounts{Since: since.UTC(), States: counts})
}

// sinceParam reads ?since= (RFC 3339); absent, it is the zero time.
func sinceParam(r *http.Request) (time.Time, error) {
	v := r.URL.Query().Get("since")
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, badRequest("since: "+strconv.Quote(v)+" is not an RFC 3339 time such as 2026-12-01T08:00:00Z", "since")
	}
	return t, nil
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	j, err := s.jobs.Get(r.Context(), p.Vault, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiJob(j))
}

func (s *Server) jobLogs(w http.ResponseWriter, r *http.Request, p access.Principal) error {
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
	return writeJSON(w, http.StatusOK, apiList(logs, apiLogLine))
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	j, err := s.jobs.Cancel(r.Context(), p.Vault, id, p.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, apiJob(j))
}
