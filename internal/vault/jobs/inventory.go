package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// InventoryJob reads the page of the instance's repository after after (docs/design/vault.md,
// "The catalogue rebuilt from storage"); queued for trigger by by.
func InventoryJob(in Instance, after, trigger, by string) NewJob {
	return NewJob{Kind: KindInventory, Instance: in.Name, Cluster: in.Cluster, Trigger: trigger, CreatedBy: by,
		Spec: agentv1.JobSpec{Inventory: &agentv1.InventoryJob{Instance: in.Name, Storage: in.Storage, After: after}}}
}

// reconcile applies a page of an instance's repository to the catalogue, in the transaction that
// ends its inventory job r: it records the points the catalogue lacks, logs them, the live points
// of the page's name range that storage does not hold and the backups it could not read, and
// queues the next page's job while there is one.
func reconcile(ctx context.Context, tx Tx, vault string, r Record, page agentv1.InventoryResult, at time.Time) error {
	var spec agentv1.JobSpec
	if err := json.Unmarshal(r.Spec, &spec); err != nil || spec.Inventory == nil {
		return fmt.Errorf("inventory job %d has no inventory spec: %w", r.ID, ErrInvalid)
	}
	known, err := tx.InstancePoints(ctx, vault, r.Instance)
	if err != nil {
		return err
	}
	last := ""
	var logs []LogLine
	note := func(level, format string, args ...any) {
		logs = append(logs, LogLine{Time: at, Level: level, Message: fmt.Sprintf(format, args...)})
	}
	inStorage := map[string]bool{}
	for _, p := range page.Points {
		inStorage[p.Name], last = true, max(last, p.Name)
		deleted, inCatalogue := known[p.Name]
		switch {
		case inCatalogue && deleted:
			note("warn", "recovery point %s is in storage but deleted in the catalogue: left deleted (its deletion may be half done; delete it again)", p.Name)
		case inCatalogue:
		default:
			if err := tx.InsertRecoveryPoint(ctx, vault, recoveredPoint(r, p)); err != nil {
				return err
			}
			note("info", "recovered recovery point %s from storage (%s, %d items)", p.Name, p.Phase, p.Items)
		}
	}
	for _, u := range page.Unreadable {
		inStorage[u.Name], last = true, max(last, u.Name)
		note("warn", "backup %s in storage cannot be read: %s", u.Name, u.Problem)
	}
	after := spec.Inventory.After
	for name, deleted := range known {
		if !deleted && !inStorage[name] && name > after && (!page.More || name <= last) {
			note("warn", "recovery point %s is in the catalogue but not in storage", name)
		}
	}
	if err := tx.AppendLogs(ctx, r.ID, logs); err != nil {
		return err
	}
	if !page.More {
		return nil
	}
	if last == "" {
		return fmt.Errorf("inventory job %d reported more backups after an empty page: %w", r.ID, ErrInvalid)
	}
	in := Instance{Name: r.Instance, Cluster: r.Cluster, Storage: spec.Inventory.Storage}
	_, err = insert(ctx, tx, vault, InventoryJob(in, last, r.Trigger, r.CreatedBy), at)
	return err
}

// recoveredPoint is the catalogue's record of point p, found in storage by inventory job r.
func recoveredPoint(r Record, p agentv1.RecoveryPoint) RecoveryPoint {
	return RecoveryPoint{Name: p.Name, Instance: r.Instance, Cluster: r.Cluster, Time: p.Time, Phase: p.Phase, Items: p.Items,
		RawBytes: p.RawBytes, StoredBytes: p.StoredBytes, Namespaces: p.Namespaces, Volumes: p.Volumes, VolumesFailed: p.VolumesFailed,
		SnapshotBytes: p.SnapshotBytes, OnDemand: p.OnDemand, ExpiresAt: p.ExpiresAt, Job: r.ID, VolumesCopied: p.VolumesCopied,
		CopyBytes: p.CopyBytes, CopyAddedBytes: p.CopyAddedBytes, VolumeTiers: p.VolumeTiers}
}
