package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// Record is a job as the store holds it: its spec and result are the agent protocol's, as JSON.
type Record struct {
	ID              int64
	Kind            Kind
	Instance        string // empty for a job of no instance
	Cluster         string // the cluster whose agent runs it
	RecoveryPoint   string // the one a backup makes, or a restore, deletion or verification reads
	State           State
	Trigger         string
	CreatedBy       string // a principal, or "scheduler" or "vault"
	Attempt         int
	CreatedAt       time.Time
	StartedAt       *time.Time
	FinishedAt      *time.Time
	Progress        Progress
	Error           string
	CancelRequested bool
	LeaseKey        string // LeaseKey's, while the job is queued or running
	Spec            []byte // a agentv1.JobSpec
	Result          []byte // a agentv1.JobResult; nil unless the job ended with one
}

// Progress is how far a running job got, as its agent last reported.
type Progress struct {
	Items   int64
	Bytes   int64
	Message string
}

// Job is a job with its spec and result decoded.
type Job struct {
	ID              int64
	Kind            Kind
	Instance        string
	Cluster         string
	RecoveryPoint   string
	State           State
	Trigger         string
	CreatedBy       string
	Attempt         int
	CreatedAt       time.Time
	StartedAt       *time.Time
	FinishedAt      *time.Time
	Progress        Progress
	Error           string
	CancelRequested bool
	Spec            agentv1.JobSpec
	Result          *agentv1.JobResult
}

// Decode reads the record's spec and result.
func (r Record) Decode() (Job, error) {
	j := Job{ID: r.ID, Kind: r.Kind, Instance: r.Instance, Cluster: r.Cluster, RecoveryPoint: r.RecoveryPoint, State: r.State,
		Trigger: r.Trigger, CreatedBy: r.CreatedBy, Attempt: r.Attempt, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt,
		FinishedAt: r.FinishedAt, Progress: r.Progress, Error: r.Error, CancelRequested: r.CancelRequested}
	if err := json.Unmarshal(r.Spec, &j.Spec); err != nil {
		return j, fmt.Errorf("decode spec of job %d: %w", r.ID, err)
	}
	if r.Result != nil {
		j.Result = &agentv1.JobResult{}
		if err := json.Unmarshal(r.Result, j.Result); err != nil {
			return j, fmt.Errorf("decode result of job %d: %w", r.ID, err)
		}
	}
	return j, nil
}

// NewJob is a job to queue.
type NewJob struct {
	Kind          Kind
	Instance      string
	Cluster       string
	RecoveryPoint string // the one a backup makes (Queue makes it unique), or a restore, deletion or verification reads
	Trigger       string
	CreatedBy     string
	Attempt       int // default 1
	Spec          agentv1.JobSpec
}

// record is the queued job's record, created at now.
func (nj NewJob) record(now time.Time) (Record, error) {
	spec, err := json.Marshal(nj.Spec)
	if err != nil {
		return Record{}, fmt.Errorf("encode job spec: %w", err)
	}
	attempt := nj.Attempt
	if attempt == 0 {
		attempt = 1
	}
	return Record{Kind: nj.Kind, Instance: nj.Instance, Cluster: nj.Cluster, RecoveryPoint: nj.RecoveryPoint, State: Queued,
		Trigger: nj.Trigger, CreatedBy: nj.CreatedBy, Attempt: attempt, CreatedAt: now, LeaseKey: LeaseKey(nj.Kind, nj.Instance),
		Spec: spec}, nil
}
