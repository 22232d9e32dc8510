package usecase

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
	"github.com/cairnbackup/cairn/internal/humanize"
	"github.com/cairnbackup/cairn/internal/mover"
	"github.com/cairnbackup/cairn/internal/scope"
	"github.com/cairnbackup/cairn/internal/snapshot"
)

// BackupRequest is a backup to make.
type BackupRequest struct {
	// Repository is where the backup goes; it is initialised when the storage holds none.
	Repository RepositoryRef
	// Name is the new recovery point's.
	Name  string
	Scope scope.Spec
	// Volumes configures the volume snapshots of the claims in scope.
	Volumes Volumes
	// Hooks are the BackupHooks (NAMESPACE/NAME) to run around the backup.
	Hooks []string
	// Parallelism is how many resource types are listed at once (default 4).
	Parallelism int
	// LockUntil, if set, makes the backup's files immutable in storage until then.
	LockUntil time.Time
	// ExpiresAt, if set, is when retention may delete the recovery point.
	ExpiresAt time.Time
	// DeleteEarlier names the recovery points that earlier attempts of this backup left behind:
	// they are deleted, with their volume snapshots, before the backup starts.
	DeleteEarlier []string
	// Progress, if set, is told where the backup is; it is called from several goroutines.
	Progress func(Progress)
}

// Volumes configures volume snapshots.
type Volumes struct {
	// Snapshot snapshots the persistent volumes of the claims in scope.
	Snapshot bool
	// Class is the VolumeSnapshotClass (default: each CSI driver's default class).
	Class string
	// Policy, if set, skips volumes by its rules.
	Policy *snapshot.Policy
	// Timeout bounds the wait for each snapshot to be ready (default 10m).
	Timeout time.Duration
	// Data is the volume data mode: snapshot (default), copy or snapshot+copy.
	Data string
	// Mover configures the data mover that copies volume data (copy modes) and backs up the
	// volumes opted in to the file-system backup (whenever it names an image).
	Mover MoverOptions
}

// MoverOptions configure the data mover's pods (package mover).
type MoverOptions struct {
	Image, Namespace string
	HostNetwork      bool
	Parallelism      int
	Timeout          time.Duration
	// KubeletRoot is the kubelet's root directory on the nodes (default /var/lib/kubelet).
	KubeletRoot string
}

// BackupResult is what a backup made.
type BackupResult struct {
	// RecoveryPoint is the committed recovery point; its Result.Phase tells how the backup went.
	RecoveryPoint archive.RecoveryPoint
	// Warnings are the use case's own, beside the recovery point's: earlier attempts that could
	// not be deleted.
	Warnings []string
}

// Backup backs up the cluster into a new recovery point: it opens (or initialises) the
// repository, deletes what earlier attempts left, loads the hooks and runs the backup engine.
// The result is nil when the backup failed before it dealt with the earlier attempts; otherwise
// it holds the warnings so far, even with an error.
func (r *Runner) Backup(ctx context.Context, req BackupRequest) (*BackupResult, error) {
	r = r.withDefaults()
	if err := archive.ValidateName(req.Name); err != nil {
		return nil, fmt.Errorf("recovery point: %w", err)
	}
	sc, err := scope.New(req.Scope)
	if err != nil {
		return nil, fmt.Errorf("backup configuration: %w", err)
	}
	dataMode, err := archive.ParseVolumeData(req.Volumes.Data)
	if err != nil {
		return nil, fmt.Errorf("backup configuration: %w", err)
	}
	if archive.CopiesVolumeData(dataMode) && !req.Volumes.Snapshot {
		return nil, fmt.Errorf("backup configuration: volume data mode %s reads the volumes from snapshots: it needs volume snapshots on", dataMode)
	}
	report(req.Progress, Progress{Stage: StageOpen})
	repo, cred, err := r.open(ctx, req.Repository, true)
	if err != nil {
		return nil, err
	}
	var snaps *snapshot.Snapshotter
	if req.Volumes.Snapshot || len(req.DeleteEarlier) > 0 {
		v := req.Volumes
		snaps, err = r.Engines.Snapshotter(r.Config, snapshot.Options{Class: v.Class, Policy: v.Policy, Timeout: v.Timeout, Now: r.Now, Logger: r.Logger})
		if err != nil {
			return nil, err
		}
	}
	out := &BackupResult{Warnings: r.deleteEarlier(ctx, repo, snaps, req.DeleteEarlier)}
	var volumes *snapshot.Snapshotter
	if req.Volumes.Snapshot {
		volumes = snaps
	}
	var copyVolumes, fsBackup func(context.Context, string, []archive.VolumeRecord) []archive.VolumeRecord
	// The mover copies snapshots in the copy modes, and backs up through their files the volumes
	// opted in to it whenever it has an image (docs/design/volumes.md).
	if archive.CopiesVolumeData(dataMode) || (req.Volumes.Snapshot && req.Volumes.Mover.Image != "") {
		m, err := r.dataMover(req.Volumes.Mover, req.Repository.Location, cred, snaps)
		if err != nil {
			return out, err
		}
		if archive.CopiesVolumeData(dataMode) {
			copyVolumes = volumeCopier(req, m, dataMode, r.Now)
		}
		if req.Volumes.Snapshot {
			fsBackup = fileBackup(req, m, r.Now)
		}
	}
	runner, err := r.Engines.BackupHooks(ctx, r.Config, req.Hooks, r.Now, r.Logger)
	if err != nil {
		return out, fmt.Errorf("backup hooks: %w", err)
	}
	r.Logger.Info("backing up", "recoveryPoint", req.Name, "storage", repo.Storage().String(),
		"namespaces", orAll(req.Scope.IncludedNamespaces), "snapshotVolumes", req.Volumes.Snapshot)
	report(req.Progress, Progress{Stage: StageBackup})
	rp, err := r.Engines.Backup(ctx, r.Config, repo, backup.Options{
		Name: req.Name, Scope: sc, Parallelism: req.Parallelism, Now: r.Now, LockUntil: req.LockUntil, ExpiresAt: req.ExpiresAt,
		Volumes: volumes, VolumeData: dataMode, CopyVolumes: copyVolumes, FSBackup: fsBackup, Hooks: runner, Logger: r.Logger,
		Progress: func(p backup.Progress) {
			report(req.Progress, Progress{Stage: StageBackup, Items: p.Items, Bytes: p.RawBytes, Resource: p.Resource})
		},
	})
	if err != nil {
		return out, fmt.Errorf("backup %q: %w", req.Name, err)
	}
	out.RecoveryPoint = rp
	return out, nil
}

// dataMover makes the data mover of a backup, a restore or a sweep: o says how it runs its pods,
// loc and cred which repository they open (none for a sweep).
func (r *Runner) dataMover(o MoverOptions, loc Location, cred archive.Credential, snaps *snapshot.Snapshotter) (*mover.Mover, error) {
	m, err := r.Engines.Mover(r.Config, snaps, mover.Options{Namespace: o.Namespace, Image: o.Image, HostNetwork: o.HostNetwork,
		Parallelism: o.Parallelism, Timeout: o.Timeout, KubeletRoot: o.KubeletRoot, Storage: loc.URL, Credential: cred,
		Getenv: loc.Getenv, Now: r.Now, Logger: r.Logger})
	if err != nil {
		return nil, fmt.Errorf("data mover: %w", err)
	}
	return m, nil
}

// volumeCopier returns the backup engine's call into the data mover that copies snapshots.
func volumeCopier(req BackupRequest, m *mover.Mover, mode string, now func() time.Time) func(context.Context, string, []archive.VolumeRecord) []archive.VolumeRecord {
	return func(ctx context.Context, clusterID string, records []archive.VolumeRecord) []archive.VolumeRecord {
		report(req.Progress, Progress{Stage: StageCopy})
		return m.Copy(ctx, mover.CopyRequest{RecoveryPoint: req.Name, ClusterID: clusterID, KeepSnapshots: mode == archive.VolumeDataSnapshotAndCopy,
			Progress: moverProgress(req.Progress, StageCopy, now)}, records)
	}
}

// fileBackup returns the backup engine's call into the data mover that backs up volumes through
// their files.
func fileBackup(req BackupRequest, m *mover.Mover, now func() time.Time) func(context.Context, string, []archive.VolumeRecord) []archive.VolumeRecord {
	return func(ctx context.Context, clusterID string, records []archive.VolumeRecord) []archive.VolumeRecord {
		report(req.Progress, Progress{Stage: StageFSBackup})
		return m.BackupFiles(ctx, mover.FSBackupRequest{RecoveryPoint: req.Name, ClusterID: clusterID,
			Progress: moverProgress(req.Progress, StageFSBackup, now)}, records)
	}
}

// moverProgress reports the mover's volumes done and bytes so far as the stage's progress, the
// last volume done with the count and the rate since the stage began.
func moverProgress(progress func(Progress), stage string, now func() time.Time) func(mover.CopyProgress) {
	var bytes int64
	var mu sync.Mutex
	began := now()
	return func(p mover.CopyProgress) {
		mu.Lock()
		bytes += p.Bytes
		total := bytes
		mu.Unlock()
		what := fmt.Sprintf("%s/%s (%d of %d volumes", p.Namespace, p.Claim, p.Done, p.Total)
		if secs := now().Sub(began).Seconds(); secs > 0 {
			what += ", " + humanize.Bytes(int64(float64(total)/secs)) + "/s"
		}
		report(progress, Progress{Stage: stage, Items: int64(p.Done), Bytes: total, Resource: what + ")"})
	}
}

func orAll(list []string) any {
	if len(list) == 0 {
		return "all"
	}
	return list
}
