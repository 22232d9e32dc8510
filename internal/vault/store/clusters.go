package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// Cluster health, as the store derives it from a cluster's registration and heartbeats.
const (
	HealthPending   = "pending"   // registered, the agent has not reported yet
	HealthHealthy   = "healthy"   // the agent reported within UnhealthyAfter
	HealthUnhealthy = "unhealthy" // the agent stopped reporting
	HealthRevoked   = "revoked"   // the trust grant was revoked
)

// Cluster is a cluster bound to the vault by a trust grant.
type Cluster struct {
	Name              string
	Health            string
	RegisteredAt      time.Time
	LastHeartbeat     *time.Time
	AgentVersion      string
	KubernetesVersion string
	// Namespaces are the names of the cluster's namespaces as its agent last reported them,
	// sorted; nil until it does.
	Namespaces []string
}

// Heartbeat is what a cluster's agent reports.
type Heartbeat struct {
	AgentVersion      string
	KubernetesVersion string
	Namespaces        []string // nil: unknown, the cluster keeps the ones it had
}

// UnhealthyAfter is how long a cluster's agent may stay silent (three missed 15 s heartbeats)
// before the cluster shows as unhealthy.
const UnhealthyAfter = 45 * time.Second

// RegisterCluster records the cluster's trust grant and returns its one-time agent token. A
// revoked cluster of that name is granted anew, its namespaces forgotten (the new agent may run in
// another cluster); an active one is ErrExists.
func (s *Store) RegisterCluster(ctx context.Context, vault, name string) (Cluster, string, error) {
	secret, err := newSecret()
	if err != nil {
		return Cluster{}, "", err
	}
	now := s.now().UTC()
	res, err := s.writes.ExecContext(ctx, `UPDATE clusters SET agent_token_hash = $1, registered_at = $2, revoked_at = NULL,
		last_heartbeat = NULL, namespaces = '[]' WHERE vault = $3 AND name = $4 AND revoked_at IS NOT NULL`, tokenHash(secret), now, vault, name)
	if err != nil {
		return Cluster{}, "", fmt.Errorf("register cluster %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		_, err = s.writes.ExecContext(ctx, `INSERT INTO clusters (vault, name, agent_token_hash, registered_at) VALUES ($1, $2, $3, $4)`,
			vault, name, tokenHash(secret), now)
		if err != nil && isUniqueViolation(err) {
			return Cluster{}, "", fmt.Errorf("cluster %q is already registered (revoke it first to grant a new agent token): %w", name, ErrExists)
		}
		if err != nil {
			return Cluster{}, "", fmt.Errorf("register cluster %q: %w", name, err)
		}
	}
	c, err := s.GetCluster(ctx, vault, name)
	return c, secret, err
}

const clusterColumns = `name, registered_at, revoked_at, last_heartbeat, agent_version, kubernetes_version, namespaces`

// GetCluster reads one cluster.
func (s *Store) GetCluster(ctx context.Context, vault, name string) (Cluster, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+clusterColumns+` FROM clusters WHERE vault = $1 AND name = $2`, vault, name)
	c, err := s.scanCluster(row)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("cluster %q: %w", name, ErrNotFound)
	}
	return c, err
}

// ListClusters returns the vault's clusters by name.
func (s *Store) ListClusters(ctx context.Context, vault string) ([]Cluster, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+clusterColumns+` FROM clusters WHERE vault = $1 ORDER BY name`, vault)
	if err != nil {
		return nil, fmt.Errorf("list clusters: %w", err)
	}
	defer rows.Close()
	out := []Cluster{}
	for rows.Next() {
		c, err := s.scanCluster(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ListClustersPage returns one page of the vault's clusters by name.
func (s *Store) ListClustersPage(ctx context.Context, vault string, page Page) (List[Cluster], error) {
	out := List[Cluster]{Items: []Cluster{}}
	limit := page.limit()
	after, err := page.afterName()
	if err != nil {
		return out, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+clusterColumns+` FROM clusters WHERE vault = $1 AND name > $2 ORDER BY name LIMIT $3`, vault, after, limit)
	if err != nil {
		return out, fmt.Errorf("list clusters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := s.scanCluster(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, c)
	}
	if n := len(out.Items); n > 0 {
		out.Next = nextName(n, limit, out.Items[n-1].Name)
	}
	return out, rows.Err()
}

func (s *Store) scanCluster(row scanner) (Cluster, error) {
	var c Cluster
	var revoked, beat sql.NullTime
	var namespaces string
	if err := row.Scan(&c.Name, &c.RegisteredAt, &revoked, &beat, &c.AgentVersion, &c.KubernetesVersion, &namespaces); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(namespaces), &c.Namespaces); err != nil {
		return c, fmt.Errorf("decode namespaces of cluster %q: %w", c.Name, err)
	}
	if len(c.Namespaces) == 0 {
		c.Namespaces = nil // none reported yet
	}
	c.RegisteredAt = c.RegisteredAt.UTC()
	switch {
	case revoked.Valid:
		c.Health = HealthRevoked
	case !beat.Valid:
		c.Health = HealthPending
	case s.now().Sub(beat.Time) > UnhealthyAfter:
		c.Health = HealthUnhealthy
	default:
		c.Health = HealthHealthy
	}
	if beat.Valid {
		t := beat.Time.UTC()
		c.LastHeartbeat = &t
	}
	return c, nil
}

// RevokeCluster cuts the cluster's agent off: its token stops working and its queued and running
// jobs fail with jobs.RevokedError (a move the job life cycle allows from both states).
func (s *Store) RevokeCluster(ctx context.Context, vault, name string) (Cluster, error) {
	now := s.now().UTC()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE clusters SET agent_token_hash = NULL, revoked_at = $1 WHERE vault = $2 AND name = $3 AND revoked_at IS NULL`,
			now, vault, name)
		if err != nil {
			return fmt.Errorf("revoke cluster %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := s.GetCluster(ctx, vault, name); err != nil {
				return err
			}
			return fmt.Errorf("cluster %q is already revoked: %w", name, ErrConflict)
		}
		_, err = tx.ExecContext(ctx, `UPDATE jobs SET state = $1, error = $2, finished_at = $3, lease_key = NULL
			WHERE vault = $4 AND cluster = $5 AND state IN ('queued', 'running')`,
			string(jobs.Failed), jobs.RevokedError, now, vault, name)
		if err != nil {
			return fmt.Errorf("fail the jobs of cluster %q: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return Cluster{}, err
	}
	return s.GetCluster(ctx, vault, name)
}

// Heartbeat records that the cluster's agent is alive, and what it reported. Nil namespaces are
// unknown: the cluster keeps the ones it had.
func (s *Store) Heartbeat(ctx context.Context, vault, cluster string, hb Heartbeat) error {
	var namespaces sql.NullString // NULL keeps the column
	if hb.Namespaces != nil {
		names := slices.Clone(hb.Namespaces) // not nil: an empty list encodes as []
		slices.Sort(names)
		data, err := json.Marshal(slices.Compact(names))
		if err != nil {
			return fmt.Errorf("encode namespaces of cluster %q: %w", cluster, err)
		}
		namespaces = sql.NullString{String: string(data), Valid: true}
	}
	_, err := s.writes.ExecContext(ctx, `UPDATE clusters SET last_heartbeat = $1, agent_version = $2, kubernetes_version = $3,
		namespaces = COALESCE($4, namespaces) WHERE vault = $5 AND name = $6 AND revoked_at IS NULL`,
		s.now().UTC(), hb.AgentVersion, hb.KubernetesVersion, namespaces, vault, cluster)
	if err != nil {
		return fmt.Errorf("record heartbeat of cluster %q: %w", cluster, err)
	}
	return nil
}

// lookupAgentToken returns the principal of an agent token, or ErrNotFound.
func (s *Store) lookupAgentToken(ctx context.Context, secret string) (access.Principal, error) {
	p := access.Principal{Role: access.RoleAgent}
	err := s.db.QueryRowContext(ctx, `SELECT vault, name FROM clusters WHERE agent_token_hash = $1`, tokenHash(secret)).Scan(&p.Vault, &p.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return s.lookupAdminToken(ctx, secret)
	}
	if err != nil {
		return access.Principal{}, fmt.Errorf("look up agent token: %w", err)
	}
	return p, nil
}
