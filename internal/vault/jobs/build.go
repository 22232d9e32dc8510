package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/policy"
)

// Instance is what the jobs of a backup instance are made from.
type Instance struct {
	Name    string
	Cluster string
	Backup  agentv1.BackupConfig
	Storage agentv1.StorageLocation
	// ScheduledBackups counts the scheduled backups queued for the instance so far; LastCopyAt is
	// the run time of the last of them that copied (zero: none). The copy tier chooses by them.
	ScheduledBackups int
	LastCopyAt       time.Time
	// LockFor makes each of its recovery points immutable in storage for this long (zero: no
	// lock): policy.Policy.EffectiveLockFor.
	LockFor time.Duration
}

// DecodeInstance reads an instance's backup configuration and storage location from the JSON the
// store holds.
func DecodeInstance(name, cluster string, backup, storage []byte) (Instance, error) {
	in := Instance{Name: name, Cluster: cluster}
	if err := json.Unmarshal(backup, &in.Backup); err != nil {
		return in, fmt.Errorf("decode stored backup configuration of instance %q: %w", name, err)
	}
	if err := json.Unmarshal(storage, &in.Storage); err != nil {
		return in, fmt.Errorf("decode stored storage location of instance %q: %w", name, err)
	}
	return in, nil
}

// BackupTrigger says why a backup is queued.
type BackupTrigger struct {
	Trigger   string // TriggerScheduled, TriggerOnDemand
	By        string
	OnDemand  bool
	ExpiresAt *time.Time
	// VolumeData, when set, is the job's volume data mode instead of the instance's.
	VolumeData string
}

// BackupJob is the backup of the instance for a run at at, making the recovery point
// RecoveryPointName gives (Queue makes it unique).
func BackupJob(in Instance, at time.Time, t BackupTrigger) NewJob {
	name := RecoveryPointName(in.Name, at)
	if t.VolumeData != "" {
		in.Backup.VolumeData = t.VolumeData
	}
	return NewJob{Kind: KindBackup, Instance: in.Name, Cluster: in.Cluster, RecoveryPoint: name, Trigger: t.Trigger, CreatedBy: t.By,
		Spec: agentv1.JobSpec{Backup: &agentv1.BackupJob{RecoveryPoint: name, Config: in.Backup, Storage: in.Storage,
			OnDemand: t.OnDemand, ExpiresAt: t.ExpiresAt, LockForSeconds: int64(in.LockFor / time.Second)}}}
}

// ScheduledRun is the run of the instance's schedule at at, given its policy's copy tier (nil:
// none): its backup, in the volume data mode the tier chooses (policy.VolumeData), or none when
// busy (a backup of the instance still queued or running absorbs the run).
func ScheduledRun(in Instance, tier *policy.CopyTier, at time.Time, busy bool) Run {
	r := Run{Instance: in.Name, At: at}
	if busy {
		return r
	}
	r.Copies = tier != nil && tier.Selects(at, in.ScheduledBackups+1, in.LastCopyAt)
	j := BackupJob(in, at, BackupTrigger{Trigger: TriggerScheduled, By: "scheduler",
		VolumeData: policy.VolumeData(tier, in.Backup.VolumeData, r.Copies)})
	r.Backup = &j
	return r
}

// retryOf is the next attempt of backup j, whose agent stopped reporting, at now: a new recovery
// point, the incomplete one of j deleted first. ok is false when j is no backup or has no
// attempt left.
func retryOf(j Job, now time.Time) (retry NewJob, ok bool) {
	if j.Kind != KindBackup || j.Spec.Backup == nil || j.Attempt >= MaxAttempts {
		return NewJob{}, false
	}
	spec := *j.Spec.Backup
	spec.DeleteIncomplete = append(append([]string{}, spec.DeleteIncomplete...), spec.RecoveryPoint)
	spec.RecoveryPoint = RecoveryPointName(j.Instance, now)
	return NewJob{Kind: KindBackup, Instance: j.Instance, Cluster: j.Cluster, RecoveryPoint: spec.RecoveryPoint, Trigger: TriggerRetry,
		CreatedBy: "vault", Attempt: j.Attempt + 1, Spec: agentv1.JobSpec{Backup: &spec}}, true
}

// Deletion is a recovery point to delete, or whose snapshots to delete, and why.
type Deletion struct {
	RecoveryPoint string
	Reason        string
	// SnapshotsOnly deletes the point's volume snapshots and keeps the point and its copies.
	SnapshotsOnly bool
	// GC asks the agent to collect the file store's garbage afterwards.
	GC bool
}

// Kind is the kind of the job that does the deletion.
func (d Deletion) Kind() Kind {
	if d.SnapshotsOnly {
		return KindRetentionExpireSnapshots
	}
	return KindRetentionDelete
}

// deletionJob deletes a recovery point of the instance (its volume snapshots, the file snapshots of
// its copies, then its files), or only its snapshots.
func deletionJob(in Instance, d Deletion, trigger, by string) NewJob {
	return NewJob{Kind: d.Kind(), Instance: in.Name, Cluster: in.Cluster, RecoveryPoint: d.RecoveryPoint, Trigger: trigger,
		CreatedBy: by, Spec: agentv1.JobSpec{Delete: &agentv1.DeleteJob{RecoveryPoint: d.RecoveryPoint, Storage: in.Storage, Reason: d.Reason,
			SnapshotsOnly: d.SnapshotsOnly, GC: d.GC}}}
}

// RestoreJob restores recovery point rp of the instance, made on cluster source, into cluster
// target, under a new name (RestoreName).
func RestoreJob(in Instance, rp, source, target string, opts agentv1.RestoreOptions, by string) (NewJob, error) {
	name, err := RestoreName(rp)
	if err != nil {
		return NewJob{}, err
	}
	return NewJob{Kind: KindRestore, Instance: in.Name, Cluster: target, RecoveryPoint: rp, Trigger: TriggerUser, CreatedBy: by,
		Spec: agentv1.JobSpec{Restore: &agentv1.RestoreJob{Name: name, RecoveryPoint: rp, SourceCluster: source, Storage: in.Storage,
			Options: opts}}}, nil
}
