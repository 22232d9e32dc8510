package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// memStore is an in-memory jobs.Store: a transaction works on a copy of the data that replaces
// it when the transaction commits.
type memStore struct {
	mu    sync.Mutex
	data  *memData
	perTx int // units of work per transaction of InTxBatches
	// failRunOf makes RecordScheduledRun fail for that instance.
	failRunOf string
}

type memData struct {
	nextID        int64
	jobs          map[int64]memJob
	logs          map[int64][]jobs.LogLine
	points        map[string]memPoint // by vault and name
	lastScheduled map[string]time.Time
	scheduled     map[string]int          // scheduled backups queued, by vault and instance
	lastCopy      map[string]time.Time    // the last copying run, by vault and instance
	events        map[string]events.Event // by vault and key
	verified      map[string][2]time.Time // the last verifications (of either level, of the data), by vault and instance
}

type memJob struct {
	vault        string
	leaseExpires time.Time
	jobs.Record
}

type memPoint struct {
	seq     int
	vault   string
	deleted time.Time
	jobs.RecoveryPoint
}

var (
	_ jobs.Store = (*memStore)(nil)
	_ jobs.Tx    = (*memTx)(nil)
)

func newMemStore() *memStore {
	return &memStore{perTx: 500, data: &memData{jobs: map[int64]memJob{}, logs: map[int64][]jobs.LogLine{},
		points: map[string]memPoint{}, lastScheduled: map[string]time.Time{},
		scheduled: map[string]int{}, lastCopy: map[string]time.Time{}, events: map[string]events.Event{}}}
}

func (d *memData) clone() *memData {
	c := *d
	c.jobs = maps.Clone(d.jobs)
	c.logs = map[int64][]jobs.LogLine{}
	for id, l := range d.logs {
		c.logs[id] = slices.Clone(l)
	}
	c.points = maps.Clone(d.points)
	c.lastScheduled = maps.Clone(d.lastScheduled)
	c.scheduled = maps.Clone(d.scheduled)
	c.lastCopy = maps.Clone(d.lastCopy)
	c.events = maps.Clone(d.events)
	c.verified = maps.Clone(d.verified)
	return &c
}

func (s *memStore) read() *memData {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data
}

func (s *memStore) GetJob(ctx context.Context, vault string, id int64) (jobs.Record, error) {
	return (&memTx{d: s.read()}).GetJob(ctx, vault, id)
}

func (s *memStore) HasOpenJob(_ context.Context, vault, instance string, kind jobs.Kind, rp string) (bool, error) {
	for _, j := range s.read().jobs {
		if j.vault == vault && j.Instance == instance && j.Kind == kind && (rp == "" || j.RecoveryPoint == rp) &&
			(j.State == jobs.Queued || j.State == jobs.Running) {
			return true, nil
		}
	}
	return false, nil
}

func (s *memStore) RecoveryPointNames(_ context.Context, vault, instance string) ([]string, error) {
	var live []memPoint
	for _, p := range s.read().points {
		if p.vault == vault && p.Instance == instance && p.deleted.IsZero() {
			live = append(live, p)
		}
	}
	slices.SortFunc(live, func(a, b memPoint) int { return b.seq - a.seq })
	names := make([]string, len(live))
	for i, p := range live {
		names[i] = p.Name
	}
	return names, nil
}

func (s *memStore) ExpiredLeases(_ context.Context, now time.Time) ([]jobs.JobRef, error) {
	var out []jobs.JobRef
	d := s.read()
	for _, id := range slices.Sorted(maps.Keys(d.jobs)) {
		if j := d.jobs[id]; j.State == jobs.Running && j.leaseExpires.Before(now) {
			out = append(out, jobs.JobRef{Vault: j.vault, ID: id})
		}
	}
	return out, nil
}

func (s *memStore) ClaimJob(_ context.Context, vault, cluster string, kinds []string, now, leaseUntil time.Time) (int64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.data.clone()
	held := map[string]bool{}
	for _, j := range d.jobs {
		if j.vault == vault && j.State == jobs.Running && j.LeaseKey != "" {
			held[j.LeaseKey] = true
		}
	}
	for _, id := range slices.Sorted(maps.Keys(d.jobs)) {
		j := d.jobs[id]
		if j.vault == vault && j.Cluster == cluster && j.State == jobs.Queued && !held[j.LeaseKey] && slices.Contains(kinds, string(j.Kind)) {
			j.State, j.StartedAt, j.leaseExpires = jobs.Running, &now, leaseUntil
			d.jobs[id] = j
			s.data = d
			return id, true, nil
		}
	}
	return 0, false, nil
}

func (s *memStore) InTx(ctx context.Context, fn func(jobs.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &memTx{d: s.data.clone(), s: s}
	if err := fn(tx); err != nil {
		return err
	}
	s.data = tx.d
	return nil
}

func (s *memStore) InTxBatches(ctx context.Context, n int, fn func(jobs.Tx, int, int) error) (int, error) {
	done := 0
	for done < n {
		end := min(n, done+s.perTx)
		if err := s.InTx(ctx, func(tx jobs.Tx) error { return fn(tx, done, end) }); err != nil {
			return done, err
		}
		done = end
	}
	return done, nil
}

// memTx is a transaction of memStore, or a read of its committed data (s nil).
type memTx struct {
	d *memData
	s *memStore
}

func (t *memTx) GetJob(_ context.Context, vault string, id int64) (jobs.Record, error) {
	j, ok := t.d.jobs[id]
	if !ok || j.vault != vault {
		return jobs.Record{}, fmt.Errorf("job %d: %w", id, jobs.ErrNotFound)
	}
	return j.Record, nil
}

func (t *memTx) InsertJob(_ context.Context, vault string, r jobs.Record) (int64, error) {
	t.d.nextID++
	r.ID = t.d.nextID
	t.d.jobs[r.ID] = memJob{vault: vault, Record: r}
	return r.ID, nil
}

func (t *memTx) InsertJobs(ctx context.Context, vault string, rs []jobs.Record) ([]int64, error) {
	ids := make([]int64, len(rs))
	for i, r := range rs {
		id, err := t.InsertJob(ctx, vault, r)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

func (t *memTx) TakenRecoveryPointNames(_ context.Context, vault string, names []string) (map[string]bool, error) {
	taken := map[string]bool{}
	for _, j := range t.d.jobs {
		if j.vault == vault && j.Kind == jobs.KindBackup && slices.Contains(names, j.RecoveryPoint) {
			taken[j.RecoveryPoint] = true
		}
	}
	return taken, nil
}

func (t *memTx) FreeRecoveryPointName(_ context.Context, vault string, candidates iter.Seq[string]) (string, error) {
	taken := map[string]bool{}
	for _, j := range t.d.jobs {
		if j.vault == vault && j.Kind == jobs.KindBackup {
			taken[j.RecoveryPoint] = true
		}
	}
	for c := range candidates {
		if !taken[c] {
			return c, nil
		}
	}
	return "", errors.New("every candidate is taken")
}

func (t *memTx) RenewLease(_ context.Context, vault, cluster string, id int64, until time.Time, p jobs.Progress) (bool, bool, error) {
	j, ok := t.d.jobs[id]
	if !ok || j.vault != vault || j.Cluster != cluster || j.State != jobs.Running {
		return false, false, nil
	}
	j.leaseExpires, j.Progress = until, p
	t.d.jobs[id] = j
	return j.CancelRequested, true, nil
}

func (t *memTx) RequestCancel(_ context.Context, vault string, id int64) (bool, error) {
	j, ok := t.d.jobs[id]
	if !ok || j.vault != vault || j.State != jobs.Running {
		return false, nil
	}
	j.CancelRequested = true
	t.d.jobs[id] = j
	return true, nil
}

func (t *memTx) FinishJob(_ context.Context, vault string, id int64, from jobs.Guard, end jobs.End) (bool, error) {
	j, ok := t.d.jobs[id]
	if !ok || j.vault != vault || j.State != from.State || !from.LeaseEndedBefore.IsZero() && !j.leaseExpires.Before(from.LeaseEndedBefore) {
		return false, nil
	}
	j.State, j.Error, j.Result, j.FinishedAt = end.State, end.Error, end.Result, &end.At
	j.LeaseKey, j.leaseExpires = "", time.Time{}
	t.d.jobs[id] = j
	return true, nil
}

func (t *memTx) AppendLogs(_ context.Context, id int64, lines []jobs.LogLine) error {
	t.d.logs[id] = append(t.d.logs[id], lines...)
	return nil
}

func (t *memTx) InsertRecoveryPoint(_ context.Context, vault string, rp jobs.RecoveryPoint) error {
	key := vault + "/" + rp.Name
	if _, ok := t.d.points[key]; ok {
		return fmt.Errorf("recovery point %q: %w", rp.Name, jobs.ErrExists)
	}
	t.d.points[key] = memPoint{seq: len(t.d.points) + 1, vault: vault, RecoveryPoint: rp}
	return nil
}

func (t *memTx) InstancePoints(_ context.Context, vault, instance string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range t.d.points {
		if p.vault == vault && p.Instance == instance {
			out[p.Name] = !p.deleted.IsZero()
		}
	}
	return out, nil
}

func (t *memTx) MarkRecoveryPointDeleted(_ context.Context, vault, name string, at time.Time) error {
	if p, ok := t.d.points[vault+"/"+name]; ok && p.deleted.IsZero() {
		p.deleted = at
		t.d.points[vault+"/"+name] = p
	}
	return nil
}

func (t *memTx) RecordScheduledRuns(_ context.Context, vault string, marks []jobs.RunMark) ([]bool, error) {
	recorded := make([]bool, len(marks))
	for i, m := range marks {
		if m.Instance == t.s.failRunOf {
			return nil, fmt.Errorf("record schedule of instance %q: the disk is full", m.Instance)
		}
		key := vault + "/" + m.Instance
		if last, ok := t.d.lastScheduled[key]; ok && !last.Before(m.At) {
			continue
		}
		t.d.lastScheduled[key] = m.At
		if m.Queued {
			t.d.scheduled[key]++
		}
		if m.Copies {
			t.d.lastCopy[key] = m.At
		}
		recorded[i] = true
	}
	return recorded, nil
}

func (t *memTx) MarkSnapshotsDeleted(_ context.Context, vault, name string) error {
	p, ok := t.d.points[vault+"/"+name]
	if !ok || !p.deleted.IsZero() {
		return nil
	}
	p.Volumes, p.SnapshotBytes = p.VolumesCopied, 0
	p.VolumeTiers = slices.Clone(p.VolumeTiers)
	for i := range p.VolumeTiers {
		p.VolumeTiers[i].Snapshot = false
	}
	t.d.points[vault+"/"+name] = p
	return nil
}

func (t *memTx) RecordEvent(_ context.Context, e events.Event) (bool, error) {
	key := e.Vault + "/" + e.Key
	if _, ok := t.d.events[key]; ok {
		return false, nil
	}
	t.d.events[key] = e
	return true, nil
}

// eventsOf lists the vault's recorded events by key.
func (s *memStore) eventsOf(vault string) map[string]events.Event {
	out := map[string]events.Event{}
	for _, e := range s.read().events {
		if e.Vault == vault {
			out[e.Key] = e
		}
	}
	return out
}

func (t *memTx) RecordVerification(_ context.Context, vault, instance string, at time.Time, data bool) error {
	if t.d.verified == nil {
		t.d.verified = map[string][2]time.Time{}
	}
	key := vault + "/" + instance
	v := t.d.verified[key]
	v[0] = at
	if data {
		v[1] = at
	}
	t.d.verified[key] = v
	return nil
}

func (t *memTx) RecordTestRestore(context.Context, string, string, time.Time) error { return nil }
