// Package queue makes the vault's jobs: the backups the API and the scheduler ask for, and the
// deletions of recovery points that retention or a user lets go.
package queue

import (
	"context"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/store"
	"github.com/cairnbackup/cairn/internal/vault/wire"
)

// BackupTrigger says why a backup is queued.
type BackupTrigger struct {
	Trigger   string // scheduled, on-demand
	By        string
	OnDemand  bool
	ExpiresAt *time.Time
}

// Backup queues a backup job of the instance, making recovery point
// <instance>-<yyyymmddhhmmss> (UTC, at) with a suffix when the name is taken.
func Backup(ctx context.Context, st *store.Store, vault string, in wire.Instance, at time.Time, t BackupTrigger) (wire.Job, error) {
	return st.QueueBackup(ctx, vault, BackupJob(in, at, t))
}

// BackupJob is the backup job of the instance for a run at at; the store makes its recovery
// point name unique.
func BackupJob(in wire.Instance, at time.Time, t BackupTrigger) store.NewJob {
	name := in.Name + "-" + at.UTC().Format("20060102150405")
	return store.NewJob{Kind: wire.KindBackup, Instance: in.Name, Cluster: in.Cluster, RecoveryPoint: name,
		Trigger: t.Trigger, CreatedBy: t.By, Spec: wire.JobSpec{Backup: &wire.BackupJob{RecoveryPoint: name, Config: in.Backup,
			Storage: in.Storage, OnDemand: t.OnDemand, ExpiresAt: t.ExpiresAt}}}
}

// Deletions queues a retention-delete job for each live recovery point of the instance that
// has none queued or running.
func Deletions(ctx context.Context, st *store.Store, vault string, in wire.Instance, reason, trigger, by string) error {
	page := store.Page{Limit: 1000}
	for {
		rps, err := st.ListRecoveryPoints(ctx, vault, store.RecoveryPointFilter{Instance: in.Name}, page)
		if err != nil {
			return err
		}
		for _, rp := range rps.Items {
			if err := Deletion(ctx, st, vault, in, rp.Name, reason, trigger, by); err != nil {
				return err
			}
		}
		if rps.Next == "" {
			return nil
		}
		page.Cursor = rps.Next
	}
}

// Deletion queues a retention-delete job for one recovery point unless one is queued or running.
func Deletion(ctx context.Context, st *store.Store, vault string, in wire.Instance, rp, reason, trigger, by string) error {
	open, err := st.HasOpenJob(ctx, vault, in.Name, wire.KindRetentionDelete, rp)
	if err != nil || open {
		return err
	}
	_, err = st.CreateJob(ctx, vault, store.NewJob{Kind: wire.KindRetentionDelete, Instance: in.Name, Cluster: in.Cluster,
		RecoveryPoint: rp, Trigger: trigger, CreatedBy: by,
		Spec: wire.JobSpec{Delete: &wire.DeleteJob{RecoveryPoint: rp, Storage: in.Storage, Reason: reason}}})
	return err
}
