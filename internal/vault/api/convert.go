package api

import (
	"encoding/json"
	"fmt"

	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// The API speaks in the wire shapes; the store's rows and the job life cycle's jobs become them
// here, and requests become what the store takes.

func wireList[R, W any](l store.List[R], conv func(R) W) wire.List[W] {
	return wire.List[W]{Items: wireAll(l.Items, conv), Next: l.Next}
}

// wireAll converts every row; none is an empty list, not nil (JSON [], not null).
func wireAll[R, W any](rows []R, conv func(R) W) []W {
	out := make([]W, len(rows))
	for i, r := range rows {
		out[i] = conv(r)
	}
	return out
}

func wireCluster(c store.Cluster) wire.Cluster {
	return wire.Cluster{Name: c.Name, Health: c.Health, RegisteredAt: c.RegisteredAt, LastHeartbeat: c.LastHeartbeat,
		AgentVersion: c.AgentVersion, KubernetesVersion: c.KubernetesVersion, Namespaces: c.Namespaces}
}

func storeHeartbeat(hb wire.Heartbeat) store.Heartbeat {
	return store.Heartbeat{AgentVersion: hb.AgentVersion, KubernetesVersion: hb.KubernetesVersion, Namespaces: hb.Namespaces}
}

// storeInstanceSpec is a new instance with its backup configuration and storage location as the
// JSON the store keeps.
func storeInstanceSpec(spec wire.InstanceSpec) (store.InstanceSpec, error) {
	cfg, err := json.Marshal(spec.Backup)
	if err != nil {
		return store.InstanceSpec{}, fmt.Errorf("encode backup configuration: %w", err)
	}
	storage, err := json.Marshal(spec.Storage)
	if err != nil {
		return store.InstanceSpec{}, fmt.Errorf("encode storage location: %w", err)
	}
	return store.InstanceSpec{Name: spec.Name, Cluster: spec.Cluster, Policy: spec.Policy, Backup: cfg, Storage: storage}, nil
}

// jobsInstance is what the instance's jobs are made from: its stored JSON read as the jobs read it.
func jobsInstance(in store.Instance) (jobs.Instance, error) {
	return jobs.DecodeInstance(in.Name, in.Cluster, in.Backup, in.Storage)
}

func wireInstance(in store.Instance) (wire.Instance, error) {
	ji, err := jobsInstance(in)
	if err != nil {
		return wire.Instance{}, err
	}
	return wire.Instance{InstanceSpec: wire.InstanceSpec{Name: in.Name, Cluster: in.Cluster, Policy: in.Policy, Backup: ji.Backup,
		Storage: ji.Storage}, State: in.State, CreatedAt: in.CreatedAt, LastScheduled: in.LastScheduled}, nil
}

func wireInstances(l store.List[store.Instance]) (wire.List[wire.Instance], error) {
	out := wire.List[wire.Instance]{Items: make([]wire.Instance, len(l.Items)), Next: l.Next}
	for i, in := range l.Items {
		var err error
		if out.Items[i], err = wireInstance(in); err != nil {
			return out, err
		}
	}
	return out, nil
}

func wireRecoveryPoint(rp store.RecoveryPoint) wire.RecoveryPoint {
	return wire.RecoveryPoint{Name: rp.Name, Instance: rp.Instance, Cluster: rp.Cluster, Time: rp.Time, Phase: rp.Phase, Items: rp.Items,
		RawBytes: rp.RawBytes, StoredBytes: rp.StoredBytes, Namespaces: rp.Namespaces, Volumes: rp.Volumes, VolumesFailed: rp.VolumesFailed,
		SnapshotBytes: rp.SnapshotBytes, OnDemand: rp.OnDemand, ExpiresAt: rp.ExpiresAt, Job: rp.Job}
}

func wireJob(j jobs.Job) wire.Job {
	return wire.Job{ID: j.ID, Kind: string(j.Kind), Instance: j.Instance, Cluster: j.Cluster, State: string(j.State), Trigger: j.Trigger,
		CreatedBy: j.CreatedBy, Attempt: j.Attempt, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, Error: j.Error,
		CancelRequested: j.CancelRequested, Spec: j.Spec, Result: j.Result,
		Progress: wire.JobProgress{Items: j.Progress.Items, Bytes: j.Progress.Bytes, Message: j.Progress.Message}}
}

func wireJobs(l store.List[jobs.Record]) (wire.List[wire.Job], error) {
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

func wireLogLine(l store.LogLine) wire.LogLine {
	return wire.LogLine{Seq: l.Seq, Time: l.Time, Level: l.Level, Message: l.Message}
}

func wireAuditEntry(e store.AuditEntry) wire.AuditEntry {
	return wire.AuditEntry{ID: e.ID, Time: e.Time, Principal: e.Principal, Role: e.Role, Operation: e.Operation, Object: e.Object,
		Status: e.Status}
}
