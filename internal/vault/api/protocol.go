package api

import (
	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// The public API (vaultv1) and the agent protocol (agentv1) version apart; what a job asks of an
// agent and what it reports are kept in the protocol's shapes and shown in the API's. Where the
// two shapes are alike, a Go conversion maps them, so the day they part the build says which
// conversion to write.

func protocolBackupConfig(c vaultv1.BackupConfig) agentv1.BackupConfig {
	return agentv1.BackupConfig(c)
}

func protocolStorage(s vaultv1.StorageLocation) agentv1.StorageLocation {
	return agentv1.StorageLocation(s)
}

func protocolRestoreOptions(o vaultv1.RestoreOptions) agentv1.RestoreOptions {
	return agentv1.RestoreOptions(o)
}

func apiBackupConfig(c agentv1.BackupConfig) vaultv1.BackupConfig { return vaultv1.BackupConfig(c) }

func apiStorage(s agentv1.StorageLocation) vaultv1.StorageLocation { return vaultv1.StorageLocation(s) }

func apiJobSpec(s agentv1.JobSpec) vaultv1.JobSpec {
	var out vaultv1.JobSpec
	if b := s.Backup; b != nil {
		out.Backup = &vaultv1.BackupJob{RecoveryPoint: b.RecoveryPoint, Config: apiBackupConfig(b.Config), Storage: apiStorage(b.Storage),
			OnDemand: b.OnDemand, ExpiresAt: b.ExpiresAt, DeleteIncomplete: b.DeleteIncomplete}
	}
	if r := s.Restore; r != nil {
		out.Restore = &vaultv1.RestoreJob{Name: r.Name, RecoveryPoint: r.RecoveryPoint, SourceCluster: r.SourceCluster,
			Storage: apiStorage(r.Storage), Options: vaultv1.RestoreOptions(r.Options)}
	}
	if d := s.Delete; d != nil {
		out.Delete = &vaultv1.DeleteJob{RecoveryPoint: d.RecoveryPoint, Storage: apiStorage(d.Storage), Reason: d.Reason,
			SnapshotsOnly: d.SnapshotsOnly, GC: d.GC}
	}
	if v := s.Verify; v != nil {
		out.Verify = &vaultv1.VerifyJob{RecoveryPoint: v.RecoveryPoint, Storage: apiStorage(v.Storage), Level: v.Level}
	}
	if v := s.Validate; v != nil {
		out.Validate = &vaultv1.ValidateJob{Instance: v.Instance, Config: apiBackupConfig(v.Config), Storage: apiStorage(v.Storage)}
	}
	if t := s.TestRestore; t != nil {
		out.TestRestore = &vaultv1.TestRestoreJob{Restore: vaultv1.RestoreJob{Name: t.Restore.Name, RecoveryPoint: t.Restore.RecoveryPoint,
			SourceCluster: t.Restore.SourceCluster, Storage: apiStorage(t.Restore.Storage), Options: vaultv1.RestoreOptions(t.Restore.Options)},
			ReadyTimeoutSeconds: t.ReadyTimeoutSeconds}
		for _, c := range t.Checks {
			out.TestRestore.Checks = append(out.TestRestore.Checks, vaultv1.TestCheck(c))
		}
	}
	if i := s.Inventory; i != nil {
		out.Inventory = &vaultv1.InventoryJob{Instance: i.Instance, Storage: apiStorage(i.Storage), After: i.After}
	}
	out.Browse, out.Fetch = apiFilesSpecs(s)
	return out
}

func apiJobResult(r *agentv1.JobResult) *vaultv1.JobResult {
	if r == nil {
		return nil
	}
	out := &vaultv1.JobResult{Warnings: r.Warnings, Errors: r.Errors}
	if rp := r.RecoveryPoint; rp != nil {
		out.RecoveryPoint = apiJobRecoveryPoint(*rp)
	}
	if s := r.Restore; s != nil {
		out.Restore = &vaultv1.RestoreSummary{Name: s.Name, Phase: s.Phase, DryRun: s.DryRun, Created: s.Created, Patched: s.Patched,
			Recreated: s.Recreated, Unchanged: s.Unchanged, Skipped: s.Skipped, Failed: s.Failed, Volumes: s.Volumes}
		for _, it := range s.Items {
			out.Restore.Items = append(out.Restore.Items, vaultv1.RestoreItem(it))
		}
	}
	out.Checks = apiChecks(r.Checks)
	out.Browse, out.Fetch = apiFilesResults(r)
	out.Verify = apiVerifyResult(r.Verify)
	return out
}

// protocolJob is a claimed job as the agent protocol hands it out.
func protocolJob(j jobs.Job) agentv1.Job {
	return agentv1.Job{ID: j.ID, Kind: string(j.Kind), Instance: j.Instance, Cluster: j.Cluster, State: string(j.State), Trigger: j.Trigger,
		CreatedBy: j.CreatedBy, Attempt: j.Attempt, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, Error: j.Error,
		CancelRequested: j.CancelRequested, Spec: j.Spec, Result: j.Result,
		Progress: agentv1.JobProgress{Items: j.Progress.Items, Bytes: j.Progress.Bytes, Message: j.Progress.Message}}
}

// apiJobRecoveryPoint is the recovery point a backup job reported, in the API's shape.
func apiJobRecoveryPoint(rp agentv1.RecoveryPoint) *vaultv1.RecoveryPoint {
	out := &vaultv1.RecoveryPoint{Name: rp.Name, Instance: rp.Instance, Cluster: rp.Cluster, Time: rp.Time, Phase: rp.Phase,
		Items: rp.Items, RawBytes: rp.RawBytes, StoredBytes: rp.StoredBytes, Namespaces: rp.Namespaces, Volumes: rp.Volumes,
		VolumesFailed: rp.VolumesFailed, SnapshotBytes: rp.SnapshotBytes, OnDemand: rp.OnDemand, ExpiresAt: rp.ExpiresAt, Job: rp.Job,
		VolumesCopied: rp.VolumesCopied, CopyBytes: rp.CopyBytes, CopyAddedBytes: rp.CopyAddedBytes}
	out.VolumeTiers = apiVolumeTiers(rp.VolumeTiers)
	return out
}
