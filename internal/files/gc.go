package files

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/blob"
)

// GCOptions adjust a garbage collection.
type GCOptions struct {
	// GracePeriod is the least time between marking a blob unused and deleting it (§16).
	GracePeriod time.Duration
	// RepackBelow: a pack with less than this fraction of its bytes in use is rewritten
	// (default 0.5).
	RepackBelow float64
}

// GCReport says what a collection did.
type GCReport struct {
	Snapshots int `json:"snapshots"`
	// Deleted is what the delete phase removed.
	DeletedPacks  int   `json:"deletedPacks"`
	RepackedPacks int   `json:"repackedPacks"`
	NewPacks      int   `json:"newPacks"`
	DeletedBlobs  int   `json:"deletedBlobs"`
	FreedBytes    int64 `json:"freedBytes"`
	// Marked is what this run found unused; it goes at a later run after the grace period.
	MarkedBlobs int   `json:"markedBlobs"`
	MarkedPacks int   `json:"markedPacks"`
	MarkedBytes int64 `json:"markedBytes"`
	// Waiting describes marks not deleted yet, and why.
	Waiting []string `json:"waiting,omitempty"`
	// StaleLocks were removed.
	StaleLocks int `json:"staleLocks"`
}

// ErrCollectionRunning means another collection holds the store.
var ErrCollectionRunning = errors.New("another garbage collection is running")

// GC collects garbage: it deletes what earlier marks found unused when that is safe, then marks
// what is unused now (§16).
func (s *Store) GC(ctx context.Context, opts GCOptions) (GCReport, error) {
	var rep GCReport
	if opts.RepackBelow == 0 {
		opts.RepackBelow = 0.5
	}
	if _, err := filerepo.ReadConfig(ctx, s.st, s.keys); err != nil {
		if errors.Is(err, filerepo.ErrNoFileStore) {
			return rep, nil
		}
		return rep, err
	}
	lock, err := s.lock(ctx, filerepo.LockGC, true)
	if err != nil {
		return rep, err
	}
	defer func() { _ = lock.Release(ctx) }()
	now := lock.StorageNow
	locks, err := s.otherLocks(ctx, lock.Name, now, &rep)
	if err != nil {
		return rep, err
	}
	for _, l := range locks {
		if l.Lock.Kind == filerepo.LockGC {
			return rep, fmt.Errorf("%w (lock %s of %s, process %d, since %s); try again when it has finished",
				ErrCollectionRunning, l.Name, l.Lock.Hostname, l.Lock.PID, l.Lock.CreatedAt.Format(time.RFC3339))
		}
	}
	// Delete phase: marks whose grace period passed and whose backups have all finished.
	marks, err := filerepo.ListMarks(ctx, s.st)
	if err != nil {
		return rep, err
	}
	var due []filerepo.MarkInfo
	for _, m := range marks {
		if !m.Finished { // a collection stopped between the mark and its lock list
			if err := filerepo.DeleteMark(ctx, s.st, m.Name); err != nil {
				return rep, err
			}
			continue
		}
		why, err := s.notYet(ctx, m, now, opts.GracePeriod, locks)
		if err != nil {
			return rep, err
		}
		if why != "" {
			rep.Waiting = append(rep.Waiting, why)
			continue
		}
		due = append(due, m)
	}
	if len(due) > 0 {
		if err := s.deleteMarked(ctx, due, opts, &rep); err != nil {
			return rep, err
		}
	}
	// Mark phase.
	m, err := s.mark(ctx, lock.Name, &rep)
	if err != nil || m == nil {
		return rep, err
	}
	if opts.GracePeriod <= 0 {
		// The lock list was just written: by the storage's clock it is now the mark's time.
		why, err := s.notYet(ctx, *m, m.ModTime, 0, locks)
		if err != nil {
			return rep, err
		}
		if why == "" {
			return rep, s.deleteMarked(ctx, []filerepo.MarkInfo{*m}, opts, &rep)
		}
		rep.Waiting = append(rep.Waiting, why)
	} else {
		rep.Waiting = append(rep.Waiting, fmt.Sprintf("what this run marked is deleted by a collection after %s (grace period %s)",
			m.ModTime.Add(opts.GracePeriod).Format(time.RFC3339), opts.GracePeriod))
	}
	return rep, nil
}

// otherLocks lists the locks but ours, removing the stale ones.
func (s *Store) otherLocks(ctx context.Context, own filerepo.Name, now time.Time, rep *GCReport) ([]filerepo.LockInfo, error) {
	all, err := filerepo.ListLocks(ctx, s.repo)
	if err != nil {
		return nil, err
	}
	var out []filerepo.LockInfo
	for _, l := range all {
		switch {
		case l.Name == own:
		case l.Stale(now):
			if err := filerepo.DeleteLock(ctx, s.st, l.Name); err != nil {
				return nil, err
			}
			rep.StaleLocks++
		default:
			out = append(out, l)
		}
	}
	return out, nil
}

// notYet says why a finished mark cannot be acted on yet, or "".
func (s *Store) notYet(ctx context.Context, m filerepo.MarkInfo, now time.Time, grace time.Duration, fresh []filerepo.LockInfo) (string, error) {
	if due := m.ModTime.Add(grace); now.Before(due) {
		return fmt.Sprintf("mark %s: its grace period ends at %s", m.Name, due.Format(time.RFC3339)), nil
	}
	held, err := filerepo.LoadMarkLocks(ctx, s.st, s.keys, m.Name)
	if err != nil {
		return "", err
	}
	for _, l := range fresh {
		if slices.Contains(held, l.Name) {
			return fmt.Sprintf("mark %s: a %s that was running when it was made is still running (lock %s of %s)",
				m.Name, l.Lock.Kind, l.Name, l.Lock.Hostname), nil
		}
	}
	return "", nil
}

// mark writes what is unused now: listings of blobs no snapshot reaches, extra copies of those
// it does, and packs no index lists. It returns nil when there is nothing to mark.
func (s *Store) mark(ctx context.Context, own filerepo.Name, rep *GCReport) (*filerepo.MarkInfo, error) {
	x, err := filerepo.LoadIndex(ctx, s.st, s.keys)
	if err != nil {
		return nil, err
	}
	live, n, err := s.live(ctx, x)
	if err != nil {
		return nil, err
	}
	rep.Snapshots = n
	var m filerepo.Mark
	kept := map[filerepo.ID]bool{}
	for _, p := range x.Packs() {
		var garbage []filerepo.Entry
		for _, e := range p.Entries {
			_, isLive := live[e.ID]
			if isLive && !kept[e.ID] {
				kept[e.ID] = true
				continue
			}
			garbage = append(garbage, e)
			rep.MarkedBlobs++
			rep.MarkedBytes += int64(e.Length)
		}
		if len(garbage) > 0 {
			m.Packs = append(m.Packs, filerepo.PackEntries{Pack: p.Pack, Entries: garbage})
		}
	}
	stored, err := filerepo.StoredPacks(ctx, s.st, nil)
	if err != nil {
		return nil, err
	}
	for p, size := range stored {
		if !x.HasPack(p) {
			m.Unindexed = append(m.Unindexed, p)
			rep.MarkedBytes += size
		}
	}
	rep.MarkedPacks = len(m.Unindexed)
	if len(m.Packs) == 0 && len(m.Unindexed) == 0 {
		return nil, nil
	}
	name := filerepo.NewName()
	m.CreatedAt = s.clock().UTC()
	if err := filerepo.SaveMark(ctx, s.st, s.keys, name, m); err != nil {
		return nil, err
	}
	// The locks present now: every backup that may have counted a marked blob as present
	// started before this listing (§16).
	all, err := filerepo.ListLocks(ctx, s.repo)
	if err != nil {
		return nil, err
	}
	var names []filerepo.Name
	for _, l := range all {
		if l.Name != own {
			names = append(names, l.Name)
		}
	}
	if err := filerepo.SaveMarkLocks(ctx, s.st, s.keys, name, names); err != nil {
		return nil, err
	}
	info, err := s.st.Stat(ctx, filerepo.MarkKey(name))
	if err != nil {
		return nil, err
	}
	return &filerepo.MarkInfo{Name: name, ModTime: info.ModTime, Finished: true}, nil
}

// deleteMarked is the delete phase for marks that are due (§16).
func (s *Store) deleteMarked(ctx context.Context, due []filerepo.MarkInfo, opts GCOptions, rep *GCReport) error {
	x, err := filerepo.LoadIndex(ctx, s.st, s.keys)
	if err != nil {
		return err
	}
	live, _, err := s.live(ctx, x)
	if err != nil {
		return err
	}
	marked, unindexed, err := s.readMarks(ctx, due, false)
	if err != nil {
		return err
	}
	remove := removable(x, live, marked)

	packs := x.Packs()
	var keep []filerepo.PackEntries
	var drop []filerepo.Name
	var repack []filerepo.PackEntries
	for _, p := range packs {
		var total, gone int64
		var rest []filerepo.Entry
		for _, e := range p.Entries {
			total += int64(e.Length)
			if remove[listing{p.Pack, e.ID}] {
				gone += int64(e.Length)
				continue
			}
			rest = append(rest, e)
		}
		switch {
		case gone == 0:
			keep = append(keep, p)
		case len(rest) == 0:
			drop = append(drop, p.Pack)
			rep.DeletedBlobs += len(p.Entries)
			rep.FreedBytes += gone
		case float64(total-gone) < opts.RepackBelow*float64(total):
			repack = append(repack, filerepo.PackEntries{Pack: p.Pack, Entries: rest})
			drop = append(drop, p.Pack)
			rep.DeletedBlobs += len(p.Entries) - len(rest)
			rep.FreedBytes += gone
		default:
			keep = append(keep, p) // mostly in use: its unused blobs wait until it is emptier
		}
	}
	newPacks, err := s.repack(ctx, repack)
	if err != nil {
		return err
	}
	rep.RepackedPacks += len(repack)
	rep.NewPacks += len(newPacks)
	// The new index lists what stays and supersedes every index file read above; only then do
	// the superseded files and the packs go.
	if len(drop) > 0 || len(newPacks) > 0 {
		superseded := x.Files()
		if _, err := filerepo.PutIndexFile(ctx, s.st, s.keys, filerepo.IndexFile{Supersedes: superseded, Packs: append(keep, newPacks...)}); err != nil {
			return err
		}
		for _, f := range superseded {
			if err := s.st.Delete(ctx, filerepo.IndexKey(f)); err != nil && !errors.Is(err, blob.ErrNotFound) {
				return fmt.Errorf("delete superseded index file %s: %w", f, err)
			}
		}
	}
	for _, p := range unindexed {
		if !x.HasPack(p) {
			drop = append(drop, p)
		}
	}
	for _, p := range drop {
		if err := s.st.Delete(ctx, filerepo.PackKey(p)); err != nil && !errors.Is(err, blob.ErrNotFound) {
			return fmt.Errorf("delete pack %s: %w", p, err)
		}
		rep.DeletedPacks++
	}
	for _, mi := range due {
		if err := filerepo.DeleteMark(ctx, s.st, mi.Name); err != nil {
			return err
		}
	}
	return nil
}

// removable picks, of the marked listings, those that may go: the blob is not live, or
// another listing of it stays.
func removable(x *filerepo.Index, live liveSet, marked map[listing]bool) map[listing]bool {
	out := map[listing]bool{}
	done := map[filerepo.ID]bool{}
	for l := range marked {
		if done[l.id] {
			continue
		}
		done[l.id] = true
		locs := x.Locations(l.id)
		_, isLive := live[l.id]
		stays := 0
		for _, loc := range locs {
			if !marked[listing{loc.Pack, l.id}] {
				stays++
			}
		}
		for _, loc := range locs {
			k := listing{loc.Pack, l.id}
			if !marked[k] {
				continue
			}
			if isLive && stays == 0 {
				stays++ // a live blob keeps one copy
				continue
			}
			out[k] = true
		}
	}
	return out
}

// repack copies the remaining blobs of packs, sealed bytes as they are, into new packs.
func (s *Store) repack(ctx context.Context, packs []filerepo.PackEntries) ([]filerepo.PackEntries, error) {
	if len(packs) == 0 {
		return nil, nil
	}
	cfg, err := filerepo.ReadConfig(ctx, s.st, s.keys)
	if err != nil {
		return nil, err
	}
	var out []filerepo.PackEntries
	pw := filerepo.NewPackWriter(nil)
	flush := func() error {
		if pw.Len() == 0 {
			return nil
		}
		entries := pw.Entries()
		name := pw.Name
		if err := filerepo.PutPack(ctx, s.st, name, pw.Finish(s.keys)); err != nil {
			return err
		}
		out = append(out, filerepo.PackEntries{Pack: name, Entries: entries})
		pw = filerepo.NewPackWriter(nil)
		return nil
	}
	for _, p := range packs {
		info, err := s.st.Stat(ctx, filerepo.PackKey(p.Pack))
		if err != nil {
			return nil, fmt.Errorf("repack %s: %w", p.Pack, err)
		}
		data, err := filerepo.ReadRange(ctx, s.st, filerepo.PackKey(p.Pack), 0, info.Size, nil)
		if err != nil {
			return nil, err
		}
		for _, e := range p.Entries {
			end := int64(e.Offset) + int64(e.Length)
			if end > int64(len(data)) {
				return nil, fmt.Errorf("repack %s: blob %s lies outside the pack: %w", p.Pack, e.ID, filerepo.ErrTampered)
			}
			// Opening it proves the copy is sound before the original goes.
			if _, err := s.codec.Open(nil, e.Type, e.ID, int(e.RawLength), data[e.Offset:end]); err != nil {
				return nil, fmt.Errorf("repack %s: %w", p.Pack, err)
			}
			pw.AddSealed(e, data[e.Offset:end])
			if pw.Size() >= cfg.PackSize {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, flush()
}
