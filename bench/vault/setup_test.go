package vault

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver for the history insert
	_ "modernc.org/sqlite"             // registers the "sqlite" driver for the history insert

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// vaultName is the one vault the benchmark fills.
const vaultName = "bench"

// theHour is the top of the hour the benchmark schedules at (a Monday, 12:00 UTC).
var theHour = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// clock is the injected clock of the store, the scheduler and the API: it runs in real time from
// the moment it was last set.
type clock struct {
	mu    sync.Mutex
	base  time.Time
	start time.Time
}

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.start = t, time.Now()
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.start))
}

// fixture is what setup made.
type fixture struct {
	clusters  []string
	policies  []policy.Policy
	instances []vaultv1.InstanceSpec
}

// retentions are the policies' retention variants, with the time zone of their schedule: all
// keep the history (20 hourly points) past the hour, so the tick at the hour queues backups only.
var retentions = []struct {
	zone      string
	retention string // default/daily/weekly/monthly/keepLast
}{
	{"", "1d/7d///3"},
	{"", "2d////"},
	{"Europe/Berlin", "1d/14d/8w/1y/"},
	{"", "3d////24"},
	{"America/New_York", "1d/30d///"},
}

func makePolicy(i int) (policy.Policy, error) {
	v := retentions[i%len(retentions)]
	f := strings.Split(v.retention, "/")
	var r policy.Retention
	for j, d := range []*policy.Duration{&r.Default, &r.Daily, &r.Weekly, &r.Monthly} {
		if f[j] == "" {
			continue
		}
		var err error
		if *d, err = policy.ParseDuration(f[j]); err != nil {
			return policy.Policy{}, err
		}
	}
	if f[4] != "" {
		var err error
		if r.KeepLast, err = strconv.Atoi(f[4]); err != nil {
			return policy.Policy{}, fmt.Errorf("keepLast %q: %w", f[4], err)
		}
	}
	return policy.Policy{Name: fmt.Sprintf("hourly-%03d", i), Schedule: policy.Schedule{EveryHours: 1, TimeZone: v.zone}, Retention: r}, nil
}

// setup makes the vault, its clusters, policies and instances through the store, created three
// days before the hour.
func setup(ctx context.Context, st *store.Store, instances, clusters int) (*fixture, error) {
	f := &fixture{}
	if err := st.EnsureVault(ctx, vaultName); err != nil {
		return nil, err
	}
	for c := range clusters {
		name := fmt.Sprintf("cluster-%02d", c)
		if _, _, err := st.RegisterCluster(ctx, vaultName, name); err != nil {
			return nil, err
		}
		f.clusters = append(f.clusters, name)
	}
	perCluster := (instances + clusters - 1) / clusters
	for p := range perCluster {
		pol, err := makePolicy(p)
		if err != nil {
			return nil, err
		}
		if err := st.CreatePolicy(ctx, vaultName, pol); err != nil {
			return nil, err
		}
		f.policies = append(f.policies, pol)
	}
	specs := make([]vaultv1.InstanceSpec, instances)
	for i := range specs {
		c, p := i%clusters, i/clusters
		app := fmt.Sprintf("app-%03d", p)
		specs[i] = vaultv1.InstanceSpec{Name: f.clusters[c] + "-" + app, Cluster: f.clusters[c], Policy: f.policies[p].Name,
			Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{app}, SnapshotVolumes: true},
			Storage: vaultv1.StorageLocation{URL: "s3://bench-backups/" + f.clusters[c] + "/" + app, PassphraseSecret: "bench-passphrase"}}
	}
	f.instances = specs
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(specs); i += 4 {
				if err := createInstance(ctx, st, specs[i]); err != nil {
					errs <- fmt.Errorf("create instance %s: %w", specs[i].Name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return f, nil
}

// createInstance stores the instance as the API does.
func createInstance(ctx context.Context, st *store.Store, spec vaultv1.InstanceSpec) error {
	cfg, err := json.Marshal(spec.Backup)
	if err != nil {
		return err
	}
	storage, err := json.Marshal(spec.Storage)
	if err != nil {
		return err
	}
	_, err = st.CreateInstance(ctx, vaultName, store.InstanceSpec{Name: spec.Name, Cluster: spec.Cluster, Policy: spec.Policy,
		Backup: cfg, Storage: storage})
	return err
}

// historyBatch is how many rows one INSERT carries: SQLite looks its $N parameters up in a list,
// so a statement's cost grows with the square of its parameters.
const historyBatch = 20

// insertHistory writes points hourly succeeded backups per instance, the last one the hour
// before theHour, straight into the tables in one transaction: for each, the job as CompleteJob
// leaves it and its recovery point with the expiry retention gives it half an hour before
// theHour (what the scheduler would have recorded). It sets every instance's last scheduled
// run to the last of them. It returns the number of recovery points.
func insertHistory(ctx context.Context, db *sql.DB, f *fixture, points int) (int, error) {
	pols := map[string]policy.Policy{}
	for _, p := range f.policies {
		pols[p.Name] = p
	}
	evaluated := theHour.Add(-30 * time.Minute)
	// expiry[i][h] is the expiry of instance i's point of hour h (0 the oldest).
	expiry := make([][]any, len(f.instances))
	for i, in := range f.instances {
		pol := pols[in.Policy]
		loc := time.UTC
		if pol.Schedule.TimeZone != "" {
			var err error
			if loc, err = time.LoadLocation(pol.Schedule.TimeZone); err != nil {
				return 0, err
			}
		}
		pts := make([]policy.Point, points)
		for h := range points {
			pts[h] = policy.Point{ID: strconv.Itoa(h), CompletedAt: completedAt(i, h, points), Successful: true}
		}
		expiry[i] = make([]any, points)
		for h, d := range pol.Retention.Evaluate(pts, evaluated, loc) {
			if d.Delete {
				return 0, fmt.Errorf("policy %s deletes point %d of the history: choose retentions that keep it", pol.Name, h)
			}
			if !d.ExpiresAt.IsZero() {
				expiry[i][h] = d.ExpiresAt.UTC()
			}
		}
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin the history: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	const jobCols = `vault, kind, instance, cluster, recovery_point, state, trigger_kind, created_by, attempt, created_at,
		started_at, finished_at, progress_items, progress_bytes, progress_message, spec, result`
	const rpCols = `vault, name, instance, cluster, completed_at, phase, items, raw_bytes, stored_bytes, namespaces, volumes,
		volumes_failed, snapshot_bytes, on_demand, expires_at, job`
	var lastID int64
	total := 0
	for h := range points {
		slot := theHour.Add(-time.Duration(points-h) * time.Hour)
		var jobRows, rpRows [][]any
		rps := make([]vaultv1.RecoveryPoint, len(f.instances))
		for i, in := range f.instances {
			name := in.Name + "-" + slot.Format("20060102150405")
			done := completedAt(i, h, points)
			size := int64(50<<20 + (i*7919+h*104729)%(200<<20))
			rps[i] = vaultv1.RecoveryPoint{Name: name, Instance: in.Name, Cluster: in.Cluster, Time: done, Phase: archive.PhaseCompleted,
				Items: int64(400 + (i+h)%800), RawBytes: size, StoredBytes: size / 3, Namespaces: in.Backup.IncludeNamespaces,
				Volumes: 2, SnapshotBytes: 4 * size}
			spec, err := json.Marshal(vaultv1.JobSpec{Backup: &vaultv1.BackupJob{RecoveryPoint: name, Config: in.Backup, Storage: in.Storage}})
			if err != nil {
				return 0, err
			}
			res, err := json.Marshal(vaultv1.JobResult{RecoveryPoint: &rps[i]})
			if err != nil {
				return 0, err
			}
			jobRows = append(jobRows, []any{vaultName, agentv1.KindBackup, in.Name, in.Cluster, name, vaultv1.JobSucceeded, "scheduled",
				"scheduler", 1, slot.Add(time.Second), slot.Add(5 * time.Second), done, rps[i].Items, rps[i].StoredBytes, "done",
				string(spec), string(res)})
		}
		if err := insertRows(ctx, tx, "jobs", jobCols, jobRows); err != nil {
			return 0, err
		}
		// The new jobs' IDs, by recovery point.
		ids := map[string]int64{}
		rows, err := tx.QueryContext(ctx, `SELECT id, recovery_point FROM jobs WHERE id > $1`, lastID)
		if err != nil {
			return 0, fmt.Errorf("read job IDs: %w", err)
		}
		for rows.Next() {
			var id int64
			var rp string
			if err := rows.Scan(&id, &rp); err != nil {
				rows.Close()
				return 0, err
			}
			ids[rp], lastID = id, max(lastID, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		for i, rp := range rps {
			namespaces, err := json.Marshal(rp.Namespaces)
			if err != nil {
				return 0, err
			}
			rpRows = append(rpRows, []any{vaultName, rp.Name, rp.Instance, rp.Cluster, rp.Time, rp.Phase, rp.Items, rp.RawBytes,
				rp.StoredBytes, string(namespaces), rp.Volumes, 0, rp.SnapshotBytes, false, expiry[i][h], ids[rp.Name]})
		}
		if err := insertRows(ctx, tx, "recovery_points", rpCols, rpRows); err != nil {
			return 0, err
		}
		total += len(rpRows)
	}
	lastRun := theHour.Add(-time.Hour)
	if _, err := tx.ExecContext(ctx, `UPDATE instances SET last_scheduled = $1 WHERE vault = $2`, lastRun, vaultName); err != nil {
		return 0, fmt.Errorf("set the last scheduled runs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit the history: %w", err)
	}
	return total, nil
}

// completedAt is when instance i's point of hour h (of points) completed: a few minutes after its slot.
func completedAt(i, h, points int) time.Time {
	slot := theHour.Add(-time.Duration(points-h) * time.Hour)
	return slot.Add(3*time.Minute + time.Duration(i%240)*time.Second)
}

// insertRows inserts rows into table in INSERTs of historyBatch rows.
func insertRows(ctx context.Context, tx *sql.Tx, table, cols string, rows [][]any) error {
	for len(rows) > 0 {
		n := min(len(rows), historyBatch)
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, cols)
		args := make([]any, 0, n*len(rows[0]))
		for r, row := range rows[:n] {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c, v := range row {
				if c > 0 {
					b.WriteString(", ")
				}
				args = append(args, v)
				fmt.Fprintf(&b, "$%d", len(args))
			}
			b.WriteByte(')')
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("insert into %s: %w", table, err)
		}
		rows = rows[n:]
	}
	return nil
}
