package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// RecoveryPoint is one backup of an instance, as its job's completion recorded it.
type RecoveryPoint struct {
	Name          string
	Instance      string
	Cluster       string
	Time          time.Time // when the backup completed
	Phase         string    // the backup's: archive.Phase*
	Items         int64
	RawBytes      int64
	StoredBytes   int64
	Namespaces    []string
	Volumes       int
	VolumesFailed int
	SnapshotBytes int64
	OnDemand      bool
	ExpiresAt     *time.Time // nil: kept until retention says otherwise
	Job           int64
	// The copy tier: volumes copied, their bytes, what they added; the tiers of each claim.
	VolumesCopied  int
	CopyBytes      int64
	CopyAddedBytes int64
	VolumeTiers    []agentv1.VolumeTiers
	// LockedUntil is when its files stop being immutable in storage (nil: not locked).
	LockedUntil *time.Time
	// SoftDeleted is set when a person deleted it: the vault keeps it until SoftDeleted.PurgeAfter.
	SoftDeleted *SoftDeletion
}

// SoftDeletion is who deleted a recovery point, when, and when the vault purges it.
type SoftDeletion struct {
	At, PurgeAfter time.Time
	By             string
}

// Usable refuses a soft-deleted recovery point (ErrConflict, saying how to bring it back): it is
// neither restored nor verified nor browsed until it is.
func (rp RecoveryPoint) Usable() error {
	if d := rp.SoftDeleted; d != nil {
		return fmt.Errorf("recovery point %q was deleted by %s at %s and is purged after %s: bring it back first (cairn recovery-point undelete %s): %w",
			rp.Name, d.By, d.At.Format(time.RFC3339), d.PurgeAfter.Format(time.RFC3339), rp.Name, ErrConflict)
	}
	return nil
}

// RecoveryPointFilter narrows ListRecoveryPoints.
type RecoveryPointFilter struct {
	Instance, Cluster string
	// IncludeDeleted also lists recovery points retention or a user deleted.
	IncludeDeleted bool
	// SoftDeleted lists only the points people deleted that the vault still keeps.
	SoftDeleted bool
}

const recoveryPointColumns = `seq, name, instance, cluster, completed_at, phase, items, raw_bytes, stored_bytes, namespaces,
	volumes, volumes_failed, snapshot_bytes, on_demand, expires_at, job, volumes_copied, copy_bytes, copy_added_bytes, volume_tiers,
	locked_until, soft_deleted_at, soft_deleted_by, purge_after`

// ListRecoveryPoints returns recovery points, newest first.
func (s *Store) ListRecoveryPoints(ctx context.Context, vault string, f RecoveryPointFilter, page Page) (List[RecoveryPoint], error) {
	out := List[RecoveryPoint]{Items: []RecoveryPoint{}}
	limit, before, err := page.bounds()
	if err != nil {
		return out, err
	}
	var c conditions
	c.add("vault = ?", vault)
	c.addIf("instance = ?", f.Instance)
	c.addIf("cluster = ?", f.Cluster)
	switch {
	case f.SoftDeleted:
		c.terms = append(c.terms, "deleted_at IS NULL", "soft_deleted_at IS NOT NULL")
	case !f.IncludeDeleted:
		c.terms = append(c.terms, "deleted_at IS NULL", "soft_deleted_at IS NULL")
	}
	c.add("seq < ?", before)
	rows, err := s.db.QueryContext(ctx, `SELECT `+recoveryPointColumns+` FROM recovery_points WHERE `+c.where()+`
		ORDER BY seq DESC LIMIT `+c.param(limit), c.args...)
	if err != nil {
		return out, fmt.Errorf("list recovery points: %w", err)
	}
	defer rows.Close()
	var last int64
	for rows.Next() {
		rp, seq, err := scanRecoveryPoint(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, rp)
		last = seq
	}
	out.Next = next(len(out.Items), limit, last)
	return out, rows.Err()
}

// EachInstanceRecoveryPoints calls fn with the live recovery points of each instance of the vault
// that has any, newest first (as ListRecoveryPoints lists them), instance after instance by name:
// one query for the whole vault, holding one instance's points at a time. fn may use the store.
// An error of fn does not stop the others; the errors are returned joined.
func (s *Store) EachInstanceRecoveryPoints(ctx context.Context, vault string, fn func(instance string, rps []RecoveryPoint) error) error {
	// Ascending, the order of the index recovery_points_by_instance: no sort. Each instance's
	// points are turned around before fn sees them.
	rows, err := s.db.QueryContext(ctx, `SELECT `+recoveryPointColumns+` FROM recovery_points WHERE vault = $1 AND deleted_at IS NULL
		AND soft_deleted_at IS NULL ORDER BY instance, seq`, vault)
	if err != nil {
		return fmt.Errorf("list recovery points: %w", err)
	}
	defer rows.Close()
	var errs []error
	var group []RecoveryPoint
	flush := func() {
		if len(group) == 0 {
			return
		}
		slices.Reverse(group)
		if err := fn(group[0].Instance, group); err != nil {
			errs = append(errs, err)
		}
		group = nil
	}
	for rows.Next() {
		rp, _, err := scanRecoveryPoint(rows)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if len(group) > 0 && group[0].Instance != rp.Instance {
			flush()
		}
		group = append(group, rp)
	}
	if err := rows.Err(); err != nil {
		return errors.Join(append(errs, fmt.Errorf("list recovery points: %w", err))...)
	}
	flush()
	return errors.Join(errs...)
}

// GetRecoveryPoint reads one recovery point that is not deleted, or soft-deleted (SoftDeleted set:
// check Usable before using it).
func (s *Store) GetRecoveryPoint(ctx context.Context, vault, name string) (RecoveryPoint, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+recoveryPointColumns+` FROM recovery_points WHERE vault = $1 AND name = $2 AND deleted_at IS NULL`, vault, name)
	rp, _, err := scanRecoveryPoint(row)
	if errors.Is(err, sql.ErrNoRows) {
		return rp, fmt.Errorf("recovery point %q: %w", name, ErrNotFound)
	}
	return rp, err
}

func scanRecoveryPoint(row scanner) (RecoveryPoint, int64, error) {
	var rp RecoveryPoint
	var seq int64
	var namespaces, tiers string
	var expires, locked, softAt, purge sql.NullTime
	var softBy string
	err := row.Scan(&seq, &rp.Name, &rp.Instance, &rp.Cluster, &rp.Time, &rp.Phase, &rp.Items, &rp.RawBytes, &rp.StoredBytes, &namespaces,
		&rp.Volumes, &rp.VolumesFailed, &rp.SnapshotBytes, &rp.OnDemand, &expires, &rp.Job, &rp.VolumesCopied, &rp.CopyBytes, &rp.CopyAddedBytes, &tiers,
		&locked, &softAt, &softBy, &purge)
	if err != nil {
		return rp, 0, err
	}
	rp.LockedUntil = utcPtr(locked)
	if softAt.Valid {
		rp.SoftDeleted = &SoftDeletion{At: softAt.Time.UTC(), By: softBy, PurgeAfter: purge.Time.UTC()}
	}
	rp.Time = rp.Time.UTC()
	if expires.Valid {
		t := expires.Time.UTC()
		rp.ExpiresAt = &t
	}
	if err := json.Unmarshal([]byte(namespaces), &rp.Namespaces); err != nil {
		return rp, 0, fmt.Errorf("decode namespaces of recovery point %q: %w", rp.Name, err)
	}
	if err := json.Unmarshal([]byte(tiers), &rp.VolumeTiers); err != nil {
		return rp, 0, fmt.Errorf("decode volume tiers of recovery point %q: %w", rp.Name, err)
	}
	if len(rp.VolumeTiers) == 0 {
		rp.VolumeTiers = nil
	}
	return rp, seq, nil
}

// InsertRecoveryPoint records the recovery point a backup job made.
func (t *jobTx) InsertRecoveryPoint(ctx context.Context, vault string, rp jobs.RecoveryPoint) error {
	namespaces, err := json.Marshal(rp.Namespaces)
	if err != nil {
		return fmt.Errorf("encode namespaces: %w", err)
	}
	if rp.Namespaces == nil {
		namespaces = []byte("[]")
	}
	var expires any
	if rp.ExpiresAt != nil {
		expires = rp.ExpiresAt.UTC()
	}
	tiers := []byte("[]")
	if len(rp.VolumeTiers) > 0 {
		if tiers, err = json.Marshal(rp.VolumeTiers); err != nil {
			return fmt.Errorf("encode volume tiers: %w", err)
		}
	}
	var locked any
	if rp.LockedUntil != nil {
		locked = rp.LockedUntil.UTC()
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO recovery_points (vault, name, instance, cluster, completed_at, phase, items, raw_bytes,
		stored_bytes, namespaces, volumes, volumes_failed, snapshot_bytes, on_demand, expires_at, job,
		volumes_copied, copy_bytes, copy_added_bytes, volume_tiers, locked_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
		vault, rp.Name, rp.Instance, rp.Cluster, rp.Time.UTC(), rp.Phase, rp.Items, rp.RawBytes, rp.StoredBytes, string(namespaces),
		rp.Volumes, rp.VolumesFailed, rp.SnapshotBytes, rp.OnDemand, expires, rp.Job,
		rp.VolumesCopied, rp.CopyBytes, rp.CopyAddedBytes, string(tiers), locked)
	if err != nil && isUniqueViolation(err) {
		return fmt.Errorf("recovery point %q: %w", rp.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("record recovery point %q: %w", rp.Name, err)
	}
	return nil
}

// MarkRecoveryPointDeleted records that a retention-delete job removed the recovery point.
func (t *jobTx) MarkRecoveryPointDeleted(ctx context.Context, vault, name string, at time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE recovery_points SET deleted_at = $1 WHERE vault = $2 AND name = $3 AND deleted_at IS NULL`,
		at.UTC(), vault, name); err != nil {
		return fmt.Errorf("mark recovery point %q deleted: %w", name, err)
	}
	return nil
}

// InstancePoints maps the names of the instance's recovery points to whether each was deleted.
func (t *jobTx) InstancePoints(ctx context.Context, vault, instance string) (map[string]bool, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT name, deleted_at IS NOT NULL FROM recovery_points WHERE vault = $1 AND instance = $2`, vault, instance)
	if err != nil {
		return nil, fmt.Errorf("list the recovery points of instance %q: %w", instance, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		var deleted bool
		if err := rows.Scan(&name, &deleted); err != nil {
			return nil, fmt.Errorf("list the recovery points of instance %q: %w", instance, err)
		}
		out[name] = deleted
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list the recovery points of instance %q: %w", instance, err)
	}
	return out, nil
}

// MarkSnapshotsDeleted records that a retention-expire-snapshots job deleted the recovery point's
// volume snapshots: no claim is held by a snapshot, its snapshot bytes are 0, and the volumes it
// protects are those it copied.
func (t *jobTx) MarkSnapshotsDeleted(ctx context.Context, vault, name string) error {
	var raw string
	err := t.tx.QueryRowContext(ctx, `SELECT volume_tiers FROM recovery_points WHERE vault = $1 AND name = $2 AND deleted_at IS NULL`,
		vault, name).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // deleted meanwhile: nothing left to mark
	}
	if err != nil {
		return fmt.Errorf("mark snapshots of recovery point %q deleted: %w", name, err)
	}
	var tiers []agentv1.VolumeTiers
	if err := json.Unmarshal([]byte(raw), &tiers); err != nil {
		return fmt.Errorf("decode volume tiers of recovery point %q: %w", name, err)
	}
	for i := range tiers {
		tiers[i].Snapshot = false
	}
	out := []byte("[]")
	if len(tiers) > 0 {
		if out, err = json.Marshal(tiers); err != nil {
			return fmt.Errorf("encode volume tiers: %w", err)
		}
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE recovery_points SET volumes = volumes_copied, snapshot_bytes = 0, volume_tiers = $1
		WHERE vault = $2 AND name = $3 AND deleted_at IS NULL`, string(out), vault, name); err != nil {
		return fmt.Errorf("mark snapshots of recovery point %q deleted: %w", name, err)
	}
	return nil
}

// SetRecoveryPointExpiry records when retention lets a recovery point go (zero: kept indefinitely);
// it writes only when the value changes.
func (s *Store) SetRecoveryPointExpiry(ctx context.Context, vault, name string, at time.Time) error {
	var v any
	if !at.IsZero() {
		v = at.UTC()
	}
	_, err := s.writes.ExecContext(ctx, `UPDATE recovery_points SET expires_at = $1 WHERE vault = $2 AND name = $3
		AND expires_at IS DISTINCT FROM $1`, v, vault, name)
	if err != nil {
		return fmt.Errorf("record expiry of recovery point %q: %w", name, err)
	}
	return nil
}

// LastGoodBackups returns, per instance of the vault that has one, the time of its newest live
// recovery point whose backup ended in phase good (archive.PhaseCompleted). It looks up each
// instance's newest in the index by time, once per instance; asked per recovery point instead, it
// made a scrape of the vault's metrics take a second at 100,000 points.
func (s *Store) LastGoodBackups(ctx context.Context, vault, good string) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT r.instance, r.completed_at FROM instances i JOIN recovery_points r ON r.seq = (
			SELECT g.seq FROM recovery_points g
			WHERE g.vault = i.vault AND g.instance = i.name AND g.phase = $2 AND g.deleted_at IS NULL AND g.soft_deleted_at IS NULL
			ORDER BY g.completed_at DESC LIMIT 1)
		WHERE i.vault = $1`, vault, good)
	if err != nil {
		return nil, fmt.Errorf("read the newest good recovery points: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var instance string
		var at time.Time
		if err := rows.Scan(&instance, &at); err != nil {
			return nil, fmt.Errorf("read the newest good recovery points: %w", err)
		}
		out[instance] = at.UTC()
	}
	return out, rows.Err()
}
