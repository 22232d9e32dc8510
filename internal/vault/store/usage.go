package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/cairnbackup/cairn/api/agentv1"
)

// InstanceFootprint is what an instance's live recovery points hold (docs/design/vault.md,
// "Usage").
type InstanceFootprint struct {
	Instance, Cluster string
	RecoveryPoints    int
	StoredBytes       int64
	// SnapshotBytes sums, per claim, the restore size of its newest live snapshot: the full image
	// the newest snapshot restores, not every incremental snapshot's full size again.
	SnapshotBytes int64
	// CopyBytes sums what the live points' copies added to the file store: the unique bytes of
	// the copies (an upper bound until the file store's garbage collection).
	CopyBytes int64
	// Namespaces are those of the instance's newest live recovery point: what it protects now.
	Namespaces []string
}

// Footprints sums the live recovery points of each of the vault's instances.
func (s *Store) Footprints(ctx context.Context, vault string) (map[string]*InstanceFootprint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT instance, cluster, stored_bytes, snapshot_bytes, namespaces, copy_added_bytes, volume_tiers
		FROM recovery_points WHERE vault = $1 AND deleted_at IS NULL ORDER BY seq`, vault)
	if err != nil {
		return nil, fmt.Errorf("sum recovery points: %w", err)
	}
	defer rows.Close()
	out := map[string]*InstanceFootprint{}
	// newest[instance][claim] is the restore size of the claim's newest snapshot so far.
	newest := map[string]map[string]int64{}
	for rows.Next() {
		var instance, cluster, namespaces, rawTiers string
		var stored, snap, copyAdded int64
		if err := rows.Scan(&instance, &cluster, &stored, &snap, &namespaces, &copyAdded, &rawTiers); err != nil {
			return nil, err
		}
		f := out[instance]
		if f == nil {
			f = &InstanceFootprint{Instance: instance, Cluster: cluster}
			out[instance] = f
			newest[instance] = map[string]int64{}
		}
		f.RecoveryPoints++
		f.StoredBytes += stored
		f.CopyBytes += copyAdded
		f.Namespaces = nil
		if err := json.Unmarshal([]byte(namespaces), &f.Namespaces); err != nil {
			return nil, fmt.Errorf("decode namespaces of a recovery point of %q: %w", instance, err)
		}
		var tiers []agentv1.VolumeTiers
		if err := json.Unmarshal([]byte(rawTiers), &tiers); err != nil {
			return nil, fmt.Errorf("decode volume tiers of a recovery point of %q: %w", instance, err)
		}
		if len(tiers) == 0 && snap > 0 {
			// Recorded before the tiers were (migration 0007): its claims are not known apart.
			newest[instance][""] = snap
		}
		for _, t := range tiers {
			if t.Snapshot {
				newest[instance][t.Namespace+"/"+t.Claim] = t.Bytes
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for instance, claims := range newest {
		for _, b := range claims {
			out[instance].SnapshotBytes += b
		}
	}
	return out, nil
}
