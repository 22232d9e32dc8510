package store

import (
	"context"
	"encoding/json"
	"fmt"
)

// InstanceFootprint is what an instance's live recovery points hold.
type InstanceFootprint struct {
	Instance, Cluster string
	RecoveryPoints    int
	StoredBytes       int64
	SnapshotBytes     int64
	// Namespaces are those of the instance's newest live recovery point: what it protects now.
	Namespaces []string
}

// Footprints sums the live recovery points of each of the vault's instances.
func (s *Store) Footprints(ctx context.Context, vault string) (map[string]*InstanceFootprint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT instance, cluster, stored_bytes, snapshot_bytes, namespaces FROM recovery_points
		WHERE vault = $1 AND deleted_at IS NULL ORDER BY seq`, vault)
	if err != nil {
		return nil, fmt.Errorf("sum recovery points: %w", err)
	}
	defer rows.Close()
	out := map[string]*InstanceFootprint{}
	for rows.Next() {
		var instance, cluster, namespaces string
		var stored, snap int64
		if err := rows.Scan(&instance, &cluster, &stored, &snap, &namespaces); err != nil {
			return nil, err
		}
		f := out[instance]
		if f == nil {
			f = &InstanceFootprint{Instance: instance, Cluster: cluster}
			out[instance] = f
		}
		f.RecoveryPoints++
		f.StoredBytes += stored
		f.SnapshotBytes += snap
		f.Namespaces = nil
		if err := json.Unmarshal([]byte(namespaces), &f.Namespaces); err != nil {
			return nil, fmt.Errorf("decode namespaces of a recovery point of %q: %w", instance, err)
		}
	}
	return out, rows.Err()
}
