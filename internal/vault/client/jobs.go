package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
)

// JobFilter selects a page of jobs (newest first); empty fields match all.
type JobFilter struct {
	State         string // vaultv1.Job* states
	Kind          string // vaultv1.Kind* kinds
	Instance      string
	Cluster       string
	RecoveryPoint string    // the jobs that made, restore, delete or verify this recovery point
	Since         time.Time // only jobs created at or after it (zero: all)
	Limit         int
	Cursor        string
}

// ListJobs lists one page of jobs.
func (c *Client) ListJobs(ctx context.Context, f JobFilter) (vaultv1.List[vaultv1.Job], error) {
	q := pageQuery(f.Limit, f.Cursor)
	q.Set("state", f.State)
	q.Set("kind", f.Kind)
	q.Set("instance", f.Instance)
	q.Set("cluster", f.Cluster)
	q.Set("recoveryPoint", f.RecoveryPoint)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339))
	}
	var out vaultv1.List[vaultv1.Job]
	return out, c.do(ctx, http.MethodGet, withQuery("/api/v1/jobs", q), nil, &out)
}

// JobCounts counts the jobs created at or after since, by state.
func (c *Client) JobCounts(ctx context.Context, since time.Time) (vaultv1.JobCounts, error) {
	q := url.Values{}
	q.Set("since", since.UTC().Format(time.RFC3339))
	var out vaultv1.JobCounts
	return out, c.do(ctx, http.MethodGet, withQuery("/api/v1/job-counts", q), nil, &out)
}

// GetJob reads one job.
func (c *Client) GetJob(ctx context.Context, id int64) (vaultv1.Job, error) {
	var out vaultv1.Job
	return out, c.do(ctx, http.MethodGet, jobPath(id), nil, &out)
}

// LogFilter selects a job's log lines: those after sequence number After (0: from the first),
// Limit at most (0: the vault's default).
type LogFilter struct {
	After int64
	Limit int
}

// JobLogs reads a job's log lines, oldest first.
func (c *Client) JobLogs(ctx context.Context, id int64, f LogFilter) (vaultv1.List[vaultv1.LogLine], error) {
	q := pageQuery(f.Limit, "")
	if f.After > 0 {
		q.Set("after", strconv.FormatInt(f.After, 10))
	}
	var out vaultv1.List[vaultv1.LogLine]
	return out, c.do(ctx, http.MethodGet, withQuery(jobPath(id)+"/logs", q), nil, &out)
}

// CancelJob cancels a job: a queued one at once, a running one when its agent next reports.
func (c *Client) CancelJob(ctx context.Context, id int64) (vaultv1.Job, error) {
	var out vaultv1.Job
	return out, c.do(ctx, http.MethodPost, jobPath(id)+"/cancel", nil, &out)
}

func jobPath(id int64) string { return "/api/v1/jobs/" + url.PathEscape(strconv.FormatInt(id, 10)) }
