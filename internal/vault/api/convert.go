package api

import (
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// The API answers in the wire shapes; what the store and the job life cycle hold becomes them
// here.

func wireJob(j jobs.Job) wire.Job {
	return wire.Job{ID: j.ID, Kind: string(j.Kind), Instance: j.Instance, Cluster: j.Cluster, State: string(j.State), Trigger: j.Trigger,
		CreatedBy: j.CreatedBy, Attempt: j.Attempt, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, Error: j.Error,
		CancelRequested: j.CancelRequested, Spec: j.Spec, Result: j.Result,
		Progress: wire.JobProgress{Items: j.Progress.Items, Bytes: j.Progress.Bytes, Message: j.Progress.Message}}
}

func wireJobs(l wire.List[jobs.Record]) (wire.List[wire.Job], error) {
	out := wire.List[wire.Job]{Items: make([]wire.Job, len(l.Items)), Next: l.Next}
	for i, r := range l.Items {
		j, err := r.Decode()
		if err != nil {
			return out, err
		}
		out.Items[i] = wireJob(j)
	}
	return out, nil
}

// jobsInstance is what the instance's jobs are made from.
func jobsInstance(in wire.Instance) jobs.Instance {
	return jobs.Instance{Name: in.Name, Cluster: in.Cluster, Backup: in.Backup, Storage: in.Storage}
}
