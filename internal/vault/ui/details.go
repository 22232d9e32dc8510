package ui

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// How much history a detail page reads: enough for its charts and tables.
const (
	detailJobs      = 200
	detailPoints    = 200
	chartDays       = 14
	chartDurations  = 50
	timelineRows    = 30
	detailJobRows   = 20
	clusterJobRows  = 20
	clusterMaxInsts = 1000
)

// clusterData is a cluster's page.
type clusterData struct {
	Cluster    vaultv1.Cluster
	Instances  []vaultv1.Instance
	Compliance clusterCompliance
	Jobs       []vaultv1.Job
}

func (s *Server) cluster(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	ctx := r.Context()
	cl, err := c.GetCluster(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	insts, err := c.ListInstances(ctx, client.InstanceFilter{Cluster: cl.Name, Limit: clusterMaxInsts})
	if err != nil {
		return err
	}
	jobs, err := c.ListJobs(ctx, client.JobFilter{Cluster: cl.Name, Limit: clusterJobRows})
	if err != nil {
		return err
	}
	d := clusterData{Cluster: cl, Instances: insts.Items, Jobs: jobs.Items}
	if comp := assessCompliance([]vaultv1.Cluster{cl}, insts.Items); len(comp.Clusters) == 1 {
		d.Compliance = comp.Clusters[0]
	}
	s.render(w, r, http.StatusOK, "cluster", "", view{Title: "Cluster " + cl.Name, Nav: "clusters", Session: sess, Data: d})
	return nil
}

// instanceData is an instance's page.
type instanceData struct {
	Instance vaultv1.Instance
	Policy   *policy.Policy // nil if the vault no longer has it
	Jobs     []vaultv1.Job
	Points   []vaultv1.RecoveryPoint
	Charts   []chart
}

func (s *Server) instance(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	ctx := r.Context()
	in, err := c.GetInstance(ctx, r.PathValue("name"))
	if err != nil {
		return err
	}
	d := instanceData{Instance: in}
	var apiErr *client.APIError
	switch p, err := c.GetPolicy(ctx, in.Policy); {
	case err == nil:
		d.Policy = &p
	case !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound:
		return err
	}
	backups, err := c.ListJobs(ctx, client.JobFilter{Instance: in.Name, Kind: agentv1.KindBackup, Limit: detailJobs})
	if err != nil {
		return err
	}
	jobs, err := c.ListJobs(ctx, client.JobFilter{Instance: in.Name, Limit: detailJobRows})
	if err != nil {
		return err
	}
	points, err := c.ListRecoveryPoints(ctx, client.RecoveryPointFilter{Instance: in.Name, Limit: detailPoints})
	if err != nil {
		return err
	}
	d.Jobs = jobs.Items
	d.Points = points.Items[:min(timelineRows, len(points.Items))]
	d.Charts = []chart{
		successChart("chart-success", backups.Items, s.now(), chartDays),
		lineChart("chart-duration", "Backup duration, last "+strconv.Itoa(chartDurations)+" backups", durations(backups.Items, chartDurations),
			func(v float64) string { return formatDuration(time.Duration(v * float64(time.Second))) }),
		lineChart("chart-storage", "Storage of the kept recovery points over time", storageGrowth(points.Items),
			func(v float64) string { return humanize.Bytes(int64(v)) }),
	}
	s.render(w, r, http.StatusOK, "instance", "", view{Title: "Instance " + in.Name, Nav: "instances", Session: sess, Data: d})
	return nil
}

// durations are the run times of the newest n finished backups, oldest first, in seconds.
func durations(jobs []vaultv1.Job, n int) []point {
	var out []point
	for _, j := range jobs {
		if j.StartedAt != nil && j.FinishedAt != nil && (j.State == vaultv1.JobSucceeded || j.State == vaultv1.JobPartiallyFailed) {
			out = append(out, point{At: *j.FinishedAt, Value: j.FinishedAt.Sub(*j.StartedAt).Seconds()})
		}
		if len(out) == n {
			break
		}
	}
	slices.Reverse(out)
	return out
}

// storageGrowth adds up what each kept recovery point stored, oldest first.
func storageGrowth(points []vaultv1.RecoveryPoint) []point {
	sorted := slices.Clone(points)
	slices.SortFunc(sorted, func(a, b vaultv1.RecoveryPoint) int { return a.Time.Compare(b.Time) })
	out := make([]point, len(sorted))
	var total int64
	for i, rp := range sorted {
		total += rp.StoredBytes
		out[i] = point{At: rp.Time, Value: float64(total)}
	}
	return out
}

// recoveryPointData is a recovery point's page.
type recoveryPointData struct {
	Point vaultv1.RecoveryPoint
	Jobs  []vaultv1.Job
}

func (s *Server) recoveryPoint(w http.ResponseWriter, r *http.Request, sess *session, c *client.Client) error {
	rp, err := c.GetRecoveryPoint(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	jobs, err := c.ListJobs(r.Context(), client.JobFilter{RecoveryPoint: rp.Name, Limit: detailJobRows})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "recovery-point", "", view{Title: "Recovery point " + rp.Name, Nav: "recovery-points", Session: sess,
		Data: recoveryPointData{Point: rp, Jobs: jobs.Items}})
	return nil
}
