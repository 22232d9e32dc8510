package ui

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/client"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// The overview reads whole lists; past these sizes it says what it left out.
const (
	overviewMaxClusters  = 1000
	overviewMaxInstances = 20000
	overviewMaxJobs      = 5000
	overviewJobRows      = 25
	overviewNextBackups  = 10
	overviewUsageRows    = 10
	overviewClusterRows  = 50
)

// overviewData is the Overview page's data.
type overviewData struct {
	Compliance  compliance
	Jobs        jobSummary
	NextBackups []wire.Instance
	Usage       wire.Usage
	MoreUsage   int // instances left out of Usage.Instances, the costliest shown
	Truncated   bool
}

// jobSummary is the jobs of the last 24 hours: counts by state and the rows to show, failures first.
type jobSummary struct {
	Since  time.Time
	Total  int
	States []stateCount
	Rows   []wire.Job
	More   int
}

type stateCount struct {
	State string
	Count int
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	ctx := r.Context()
	clusters, truncC, err := listAll(ctx, overviewMaxClusters, func(ctx context.Context, cursor string) (wire.List[wire.Cluster], error) {
		return c.ListClusters(ctx, client.ClusterFilter{Limit: 500, Cursor: cursor})
	}, nil)
	if err != nil {
		return err
	}
	instances, truncI, err := listAll(ctx, overviewMaxInstances, func(ctx context.Context, cursor string) (wire.List[wire.Instance], error) {
		return c.ListInstances(ctx, client.InstanceFilter{Limit: 1000, Cursor: cursor})
	}, nil)
	if err != nil {
		return err
	}
	jobs, err := s.recentJobs(ctx, c)
	if err != nil {
		return err
	}
	usage, err := c.Usage(ctx)
	if err != nil {
		return err
	}
	d := overviewData{
		Compliance:  assessCompliance(clusters, instances),
		Jobs:        jobs,
		NextBackups: nextBackups(instances, overviewNextBackups),
		Usage:       usage,
		Truncated:   truncC || truncI,
	}
	d.Compliance.worstFirst(overviewClusterRows)
	slices.SortStableFunc(d.Usage.Instances, func(a, b wire.InstanceUsage) int { return cmp.Compare(b.MonthlyCost, a.MonthlyCost) })
	if n := len(d.Usage.Instances); n > overviewUsageRows {
		d.MoreUsage = n - overviewUsageRows
		d.Usage.Instances = d.Usage.Instances[:overviewUsageRows]
	}
	s.render(w, r, http.StatusOK, "overview", "", view{Title: "Overview", Nav: "overview", Session: sess, Data: d})
	return nil
}

// recentJobs summarises the jobs created in the last 24 hours.
func (s *Server) recentJobs(ctx context.Context, c *client.Client) (jobSummary, error) {
	since := s.now().Add(-24 * time.Hour)
	jobs, _, err := listAll(ctx, overviewMaxJobs, func(ctx context.Context, cursor string) (wire.List[wire.Job], error) {
		return c.ListJobs(ctx, client.JobFilter{Limit: 500, Cursor: cursor})
	}, func(j wire.Job) bool { return j.CreatedAt.Before(since) })
	if err != nil {
		return jobSummary{}, err
	}
	counts := map[string]int{}
	for _, j := range jobs {
		counts[j.State]++
	}
	sum := jobSummary{Since: since, Total: len(jobs)}
	for _, st := range stateOrder {
		if counts[st] > 0 {
			sum.States = append(sum.States, stateCount{st, counts[st]})
		}
	}
	slices.SortStableFunc(jobs, func(a, b wire.Job) int { return cmp.Compare(stateRank(a.State), stateRank(b.State)) })
	if len(jobs) > overviewJobRows {
		sum.More = len(jobs) - overviewJobRows
		jobs = jobs[:overviewJobRows]
	}
	sum.Rows = jobs
	return sum, nil
}

// stateOrder puts what needs attention first.
var stateOrder = []string{wire.JobFailed, wire.JobPartiallyFailed, wire.JobRunning, wire.JobQueued, wire.JobCancelled, wire.JobSucceeded}

func stateRank(state string) int {
	if i := slices.Index(stateOrder, state); i >= 0 {
		return i
	}
	return len(stateOrder)
}

// nextBackups are the n protected instances whose scheduled backups come soonest.
func nextBackups(instances []wire.Instance, n int) []wire.Instance {
	var due []wire.Instance
	for _, in := range instances {
		if in.NextBackup != nil && in.State == wire.InstanceProtected {
			due = append(due, in)
		}
	}
	slices.SortFunc(due, func(a, b wire.Instance) int { return a.NextBackup.Compare(*b.NextBackup) })
	return due[:min(n, len(due))]
}
