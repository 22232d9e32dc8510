package ui

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// The overview reads whole lists; past these sizes it says what it left out.
const (
	overviewMaxClusters  = 1000
	overviewMaxInstances = 20000
	overviewJobRows      = 25
	overviewNextBackups  = 10
	overviewUsageRows    = 10
	overviewClusterRows  = 50
)

// overviewData is the Overview page's data.
type overviewData struct {
	Compliance  compliance
	Jobs        jobSummary
	NextBackups []vaultv1.Instance
	// Breached are the instances whose newest good recovery point is older than their objective,
	// longest breached first.
	Breached  []vaultv1.Instance
	Usage     vaultv1.Usage
	MoreUsage int // instances left out of Usage.Instances, the costliest shown
	Truncated bool
}

// jobSummary is the jobs of the last 24 hours: counts by state and the rows to show, failures first.
type jobSummary struct {
	Since  time.Time
	Total  int
	States []stateCount
	Rows   []vaultv1.Job
	More   int
}

type stateCount struct {
	State string
	Count int
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	ctx := r.Context()
	clusters, instances, truncated, err := protection(ctx, c)
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
		Breached:    breached(instances),
		Usage:       usage,
		Truncated:   truncated,
	}
	d.Compliance.worstFirst(overviewClusterRows)
	slices.SortStableFunc(d.Usage.Instances, func(a, b vaultv1.InstanceUsage) int { return cmp.Compare(b.MonthlyCost, a.MonthlyCost) })
	if n := len(d.Usage.Instances); n > overviewUsageRows {
		d.MoreUsage = n - overviewUsageRows
		d.Usage.Instances = d.Usage.Instances[:overviewUsageRows]
	}
	s.render(w, r, http.StatusOK, "overview", "", view{Title: "Overview", Nav: "overview", Session: sess, Data: d})
	return nil
}

// protection reads the vault's clusters and instances for the overviews, up to their sizes;
// truncated says some were left out.
func protection(ctx context.Context, c *client.Client) (clusters []vaultv1.Cluster, instances []vaultv1.Instance, truncated bool, err error) {
	clusters, truncC, err := listAll(ctx, overviewMaxClusters, func(ctx context.Context, cursor string) (vaultv1.List[vaultv1.Cluster], error) {
		return c.ListClusters(ctx, client.ClusterFilter{Limit: 500, Cursor: cursor})
	}, nil)
	if err != nil {
		return nil, nil, false, err
	}
	instances, truncI, err := listAll(ctx, overviewMaxInstances, func(ctx context.Context, cursor string) (vaultv1.List[vaultv1.Instance], error) {
		return c.ListInstances(ctx, client.InstanceFilter{Limit: 1000, Cursor: cursor})
	}, nil)
	if err != nil {
		return nil, nil, false, err
	}
	return clusters, instances, truncC || truncI, nil
}

// recentJobs summarises the jobs created in the last 24 hours: counts by state, and rows with
// what needs attention first, a few small queries however many jobs there are.
func (s *Server) recentJobs(ctx context.Context, c *client.Client) (jobSummary, error) {
	since := s.now().Add(-24 * time.Hour)
	counts, err := c.JobCounts(ctx, since)
	if err != nil {
		return jobSummary{}, err
	}
	sum := jobSummary{Since: since}
	for _, st := range stateOrder {
		n := counts.States[st]
		if n == 0 {
			continue
		}
		sum.Total += n
		sum.States = append(sum.States, stateCount{st, n})
		if room := overviewJobRows - len(sum.Rows); room > 0 {
			list, err := c.ListJobs(ctx, client.JobFilter{State: st, Since: since, Limit: room})
			if err != nil {
				return jobSummary{}, err
			}
			sum.Rows = append(sum.Rows, list.Items...)
		}
	}
	sum.More = sum.Total - len(sum.Rows)
	return sum, nil
}

// stateOrder puts what needs attention first.
var stateOrder = []string{vaultv1.JobFailed, vaultv1.JobPartiallyFailed, vaultv1.JobRunning, vaultv1.JobQueued, vaultv1.JobCancelled, vaultv1.JobSucceeded}

// breached are the instances breaching their recovery point objective, longest first.
func breached(instances []vaultv1.Instance) []vaultv1.Instance {
	var out []vaultv1.Instance
	for _, in := range instances {
		if st := in.RPOStatus; st != nil && st.State == policy.RPOBreached && st.BreachedSince != nil {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b vaultv1.Instance) int { return a.RPOStatus.BreachedSince.Compare(*b.RPOStatus.BreachedSince) })
	return out
}

// nextBackups are the n protected instances whose scheduled backups come soonest.
func nextBackups(instances []vaultv1.Instance, n int) []vaultv1.Instance {
	var due []vaultv1.Instance
	for _, in := range instances {
		if in.NextBackup != nil && in.State == vaultv1.InstanceProtected {
			due = append(due, in)
		}
	}
	slices.SortFunc(due, func(a, b vaultv1.Instance) int { return a.NextBackup.Compare(*b.NextBackup) })
	return due[:min(n, len(due))]
}
