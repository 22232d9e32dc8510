package usecase

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/backup"
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
	// Mover configures the data mover that copies volume data (copy modes).
	Mover MoverOptions
}

// MoverOptions configure the data mover's pods (package mover).
type MoverOptions struct {
	Image, Namespace string
	HostNetwork      bool
	Parallelism      int
	Timeout          time.Duration
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
	var copyVolumes func(context.Context, string, []archive.VolumeRecord) []archive.VolumeRecord
	if archive.CopiesVolumeData(dataMode) {
		copyVolumes, err = r.volumeCopier(req, snaps, cred, dataMode)
		if err != nil {
			return out, err
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
		Volumes: volumes, VolumeData: dataMode, CopyVolumes: copyVolumes, Hooks: runner, Logger: r.Logger,
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

// volumeCopier returns the backup engine's call into the data mover.
func (r *Runner) volumeCopier(req BackupRequest, snaps *snapshot.Snapshotter, cred archive.Credential, mode string) (func(context.Context, string, []archive.VolumeRecord) []archive.VolumeRecord, error) {
	o := req.Volumes.Mover
	m, err := r.Engines.Mover(r.Config, snaps, mover.Options{Namespace: o.Namespace, Image: o.Image, HostNetwork: o.HostNetwork,
		Parallelism: o.Parallelism, Timeout: o.Timeout, Storage: req.Repository.Location.URL, Credential: cred,
		Getenv: req.Repository.Location.Getenv, Now: r.Now, Logger: r.Logger})
	if err != nil {
		return nil, fmt.Errorf("data mover: %w", err)
	}
	return func(ctx context.Context, clusterID string, records []archive.VolumeRecord) []archive.VolumeRecord {
		report(req.Progress, Progress{Stage: StageCopy})
		var bytes int64
		var mu sync.Mutex
		return m.Copy(ctx, mover.CopyRequest{RecoveryPoint: req.Name, ClusterID: clusterID, KeepSnapshots: mode == archive.VolumeDataSnapshotAndCopy,
			Progress: func(p mover.CopyProgress) {
				mu.Lock()
				bytes += p.Bytes
				total := bytes
				mu.Unlock()
				report(req.Progress, Progress{Stage: StageCopy, Items: int64(p.Done), Bytes: total, Resource: p.Namespace + "/" + p.Claim})
			}}, records)
	}, nil
}

func orAll(list []string) any {
	if len(list) == 0 {
		return "all"
	}
	return list
}
