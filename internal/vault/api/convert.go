package api

import (
	"encoding/json"
	"fmt"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// The API speaks in the public API's shapes (vaultv1); the store's rows and the job life cycle's jobs become them
// here, and requests become what the store takes.

func apiList[R, W any](l store.List[R], conv func(R) W) vaultv1.List[W] {
	return vaultv1.List[W]{Items: apiAll(l.Items, conv), Next: l.Next}
}

// apiAll converts every row; none is an empty list, not nil (JSON [], not null).
func apiAll[R, W any](rows []R, conv func(R) W) []W {
	out := make([]W, len(rows))
	for i, r := range rows {
		out[i] = conv(r)
	}
	return out
}

func apiCluster(c store.Cluster) vaultv1.Cluster {
	return vaultv1.Cluster{Name: c.Name, Health: c.Health, RegisteredAt: c.RegisteredAt, LastHeartbeat: c.LastHeartbeat,
		AgentVersion: c.AgentVersion, KubernetesVersion: c.KubernetesVersion, Namespaces: c.Namespaces}
}

func storeHeartbeat(hb agentv1.Heartbeat) store.Heartbeat {
	return store.Heartbeat{AgentVersion: hb.AgentVersion, KubernetesVersion: hb.KubernetesVersion, Namespaces: hb.Namespaces}
}

// storeInstanceSpec is a new instance with its backup configuration and storage location as the
// JSON the store keeps: the agent protocol's, which its jobs carry.
func storeInstanceSpec(spec vaultv1.InstanceSpec) (store.InstanceSpec, error) {
	cfg, err := json.Marshal(protocolBackupConfig(spec.Backup))
	if err != nil {
		return store.InstanceSpec{}, fmt.Errorf("encode backup configuration: %w", err)
	}
	storage, err := json.Marshal(protocolStorage(spec.Storage))
	if err != nil {
		return store.InstanceSpec{}, fmt.Errorf("encode storage location: %w", err)
	}
	rpo, err := policy.ParseOptionalDuration(spec.RPO)
	if err != nil {
		return store.InstanceSpec{}, fmt.Errorf("rpo: %w: %w", err, store.ErrInvalid)
	}
	lockFor, err := policy.ParseOptionalDuration(spec.LockFor)
	if err != nil {
		return store.InstanceSpec{}, fmt.Errorf("lockFor: %w: %w", err, store.ErrInvalid)
	}
	return store.InstanceSpec{Name: spec.Name, Cluster: spec.Cluster, Policy: spec.Policy, Backup: cfg, Storage: storage, RPO: rpo, LockFor: lockFor}, nil
}

// jobsInstance is what the instance's jobs are made from: its stored JSON read as the jobs read it.
func jobsInstance(in store.Instance) (jobs.Instance, error) {
	return jobs.DecodeInstance(in.Name, in.Cluster, in.Backup, in.Storage)
}

func apiInstance(in store.Instance) (vaultv1.Instance, error) {
	ji, err := jobsInstance(in)
	if err != nil {
		return vaultv1.Instance{}, err
	}
	return vaultv1.Instance{InstanceSpec: vaultv1.InstanceSpec{Name: in.Name, Cluster: in.Cluster, Policy: in.Policy, Backup: apiBackupConfig(ji.Backup),
		Storage: apiStorage(ji.Storage), RPO: in.RPO.Optional(), LockFor: in.LockFor.Optional()}, State: in.State, CreatedAt: in.CreatedAt, LastScheduled: in.LastScheduled}, nil
}

// apiRPOStatus is an instance's standing against its objective as the API shows it.
func apiRPOStatus(st policy.RPOStatus) *vaultv1.RPOStatus {
	out := &vaultv1.RPOStatus{Objective: policy.Duration(st.Objective).String(), State: st.State, LastGoodAt: st.LastGood}
	if !st.BreachedSince.IsZero() {
		at := st.BreachedSince.UTC()
		out.BreachedSince = &at
	}
	return out
}

func apiInstances(l store.List[store.Instance]) (vaultv1.List[vaultv1.Instance], error) {
	out := vaultv1.List[vaultv1.Instance]{Items: make([]vaultv1.Instance, len(l.Items)), Next: l.Next}
	for i, in := range l.Items {
		var err error
		if out.Items[i], err = apiInstance(in); err != nil {
			return out, err
		}
	}
	return out, nil
}

func apiRecoveryPoint(rp store.RecoveryPoint) vaultv1.RecoveryPoint {
	out := vaultv1.RecoveryPoint{Name: rp.Name, Instance: rp.Instance, Cluster: rp.Cluster, Time: rp.Time, Phase: rp.Phase, Items: rp.Items,
		RawBytes: rp.RawBytes, StoredBytes: rp.StoredBytes, Namespaces: rp.Namespaces, Volumes: rp.Volumes, VolumesFailed: rp.VolumesFailed,
		SnapshotBytes: rp.SnapshotBytes, OnDemand: rp.OnDemand, ExpiresAt: rp.ExpiresAt, Job: rp.Job,
		VolumesCopied: rp.VolumesCopied, CopyBytes: rp.CopyBytes, CopyAddedBytes: rp.CopyAddedBytes, VolumeTiers: apiVolumeTiers(rp.VolumeTiers),
		LockedUntil: rp.LockedUntil}
	if d := rp.SoftDeleted; d != nil {
		out.Deleted = &vaultv1.SoftDeletion{At: d.At, By: d.By, PurgeAfter: d.PurgeAfter}
	}
	return out
}

func apiVolumeTiers(tiers []agentv1.VolumeTiers) []vaultv1.VolumeTiers {
	var out []vaultv1.VolumeTiers
	for _, t := range tiers {
		out = append(out, vaultv1.VolumeTiers(t))
	}
	return out
}

func apiJob(j jobs.Job) vaultv1.Job {
	return vaultv1.Job{ID: j.ID, Kind: string(j.Kind), Instance: j.Instance, Cluster: j.Cluster, State: string(j.State), Trigger: j.Trigger,
		CreatedBy: j.CreatedBy, Attempt: j.Attempt, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, Error: j.Error,
		CancelRequested: j.CancelRequested, Spec: apiJobSpec(j.Spec), Result: apiJobResult(j.Result),
		Progress: vaultv1.JobProgress{Items: j.Progress.Items, Bytes: j.Progress.Bytes, Message: j.Progress.Message}}
}

func apiJobs(l store.List[jobs.Record]) (vaultv1.List[vaultv1.Job], error) {
	out := vaultv1.List[vaultv1.Job]{Items: make([]vaultv1.Job, len(l.Items)), Next: l.Next}
	for i, r := range l.Items {
		j, err := r.Decode()
		if err != nil {
			return out, err
		}
		out.Items[i] = apiJob(j)
	}
	return out, nil
}

func apiLogLine(l store.LogLine) vaultv1.LogLine {
	return vaultv1.LogLine{Seq: l.Seq, Time: l.Time, Level: l.Level, Message: l.Message}
}

func apiAuditEntry(e store.AuditEntry) vaultv1.AuditEntry {
	return vaultv1.AuditEntry{ID: e.ID, Time: e.Time, Principal: e.Principal, Role: e.Role, Operation: e.Operation, Object: e.Object,
		Status: e.Status, Source: e.Source}
}
