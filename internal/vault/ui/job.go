package ui

import (
	"net/http"
	"strconv"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// jobLogLines is how many log lines a job page shows; the CLI's `cairn job logs` has them all.
const jobLogLines = 2000

// jobData is a job's page; the "job-live" part of it refreshes itself until the job ends.
type jobData struct {
	Job      vaultv1.Job
	Logs     []vaultv1.LogLine
	MoreLogs bool
}

func (s *Server) job(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	d, err := s.jobData(r, c)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "job", "", view{Title: "Job #" + strconv.FormatInt(d.Job.ID, 10), Nav: "jobs", Session: sess, Data: d})
	return nil
}

// jobLive is the fragment htmx polls while the job runs.
func (s *Server) jobLive(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	d, err := s.jobData(r, c)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "job", "job-live", view{Session: sess, Data: d})
	return nil
}

func (s *Server) jobData(r *http.Request, c *client.Client) (jobData, error) {
	id, err := jobID(r)
	if err != nil {
		return jobData{}, err
	}
	j, err := c.GetJob(r.Context(), id)
	if err != nil {
		return jobData{}, err
	}
	logs, err := c.JobLogs(r.Context(), id, client.LogFilter{Limit: jobLogLines})
	if err != nil {
		return jobData{}, err
	}
	return jobData{Job: j, Logs: logs.Items, MoreLogs: logs.Next != ""}, nil
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request, _ *session, c *client.Client) error {
	id, err := jobID(r)
	if err != nil {
		return err
	}
	if _, err := c.CancelJob(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

func jobID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &client.APIError{Status: http.StatusNotFound, Code: "not_found", Message: "no job " + strconv.Quote(r.PathValue("id")) + ": job IDs are numbers"}
	}
	return id, nil
}
