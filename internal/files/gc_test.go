package files

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/archive/filerepo"
	"github.com/cairnbackup/cairn/internal/blob"
	"github.com/cairnbackup/cairn/internal/blob/memory"
	"github.com/cairnbackup/cairn/internal/files/filestest"
)

// storedBytes sums the objects under files/.
func storedBytes(t *testing.T, st blob.Storage) int64 {
	t.Helper()
	var n int64
	filestest.Must(t, st.List(context.Background(), "files/", func(i blob.Info) error { n += i.Size; return nil }))
	return n
}

// mustVerify fails the test unless the store verifies with every blob read; it returns the notes.
func mustVerify(t *testing.T, s *Store) []string {
	t.Helper()
	rep, err := s.Verify(context.Background(), VerifyOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Fatalf("verify: %s", strings.Join(rep.Problems, "\n"))
	}
	return rep.Notes
}

// mustRestoreEqual restores snap and compares it with dir.
func mustRestoreEqual(t *testing.T, s *Store, snap *filerepo.Snapshot, dir string) {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "r")
	sum, err := s.Restore(context.Background(), snap, "", dst, RestoreOptions{})
	if err != nil || len(sum.Problems) > 0 {
		t.Fatalf("restore: %v %v", err, sum.Problems)
	}
	if d := filestest.Diff(filestest.Describe(t, dir), filestest.Describe(t, dst)); d != "" {
		t.Fatalf("restore differs:\n%s", d)
	}
}

func TestGCFreesWhatNoSnapshotUses(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	s := newTestStore(t, st)
	a, b := t.TempDir(), t.TempDir()
	filestest.WriteFile(t, filepath.Join(a, "only-a"), filestest.RandomBytes(10, 4<<20), 0o644)
	filestest.WriteFile(t, filepath.Join(a, "shared"), filestest.RandomBytes(11, 2<<20), 0o644)
	filestest.WriteFile(t, filepath.Join(b, "shared"), filestest.RandomBytes(11, 2<<20), 0o644)
	sa, err := s.Backup(ctx, a, BackupOptions{Source: "a"})
	filestest.Must(t, err)
	sb, err := s.Backup(ctx, b, BackupOptions{Source: "b"})
	filestest.Must(t, err)
	before := storedBytes(t, st)
	filestest.Must(t, s.Forget(ctx, sa.ID))
	rep, err := s.GC(ctx, GCOptions{GracePeriod: 0})
	filestest.Must(t, err)
	after := storedBytes(t, st)
	if rep.FreedBytes < 4<<20 || before-after < 4<<20 {
		t.Fatalf("want only-a's 4 MiB freed: %+v, stored %d -> %d", rep, before, after)
	}
	if notes := mustVerify(t, s); len(notes) > 0 {
		t.Fatalf("notes after a collection: %v", notes)
	}
	mustRestoreEqual(t, s, sb, b)
	// Nothing left to collect: a second run changes nothing.
	rep, err = s.GC(ctx, GCOptions{GracePeriod: 0})
	filestest.Must(t, err)
	if rep.FreedBytes != 0 || rep.MarkedBlobs != 0 {
		t.Fatalf("a second collection found more: %+v", rep)
	}
}

func TestGCRepacksMostlyEmptyPacks(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	s := newTestStore(t, st)
	dir := t.TempDir()
	// Many small files share packs; forgetting most of them leaves mostly-empty packs.
	for i := range 40 {
		filestest.WriteFile(t, filepath.Join(dir, "f", string(rune('a'+i%26))+strings.Repeat("x", i)), filestest.RandomBytes(uint64(100+i), 200_000), 0o644)
	}
	first, err := s.Backup(ctx, dir, BackupOptions{Source: "d"})
	filestest.Must(t, err)
	keep := t.TempDir()
	filestest.WriteFile(t, filepath.Join(keep, "survivor"), filestest.RandomBytes(100, 200_000), 0o644)
	kept, err := s.Backup(ctx, keep, BackupOptions{Source: "k"})
	filestest.Must(t, err)
	filestest.Must(t, s.Forget(ctx, first.ID))
	rep, err := s.GC(ctx, GCOptions{GracePeriod: 0})
	filestest.Must(t, err)
	if rep.RepackedPacks == 0 || rep.NewPacks == 0 {
		t.Fatalf("want the mostly-empty pack rewritten: %+v", rep)
	}
	mustVerify(t, s)
	mustRestoreEqual(t, s, kept, keep)
}

func TestGCWaitsForTheGracePeriodAndForRunningBackups(t *testing.T) {
	ctx := context.Background()
	st, advance := clockedMemory()
	s := newTestStore(t, st)
	dir := t.TempDir()
	filestest.WriteFile(t, filepath.Join(dir, "f"), filestest.RandomBytes(20, 1<<20), 0o644)
	snap, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
	filestest.Must(t, err)
	filestest.Must(t, s.Forget(ctx, snap.ID))

	rep, err := s.GC(ctx, GCOptions{GracePeriod: time.Hour})
	filestest.Must(t, err)
	if rep.MarkedBlobs == 0 || rep.FreedBytes != 0 {
		t.Fatalf("first run: want a mark and nothing deleted: %+v", rep)
	}
	advance(30 * time.Minute)
	if rep, _ = s.GC(ctx, GCOptions{GracePeriod: time.Hour}); rep.FreedBytes != 0 {
		t.Fatalf("deleted before the grace period ended: %+v", rep)
	}
	advance(31 * time.Minute)
	// A backup that started after the first mark does not hold its deletion back, but holds
	// back the next mark's.
	other, err := filerepo.AcquireLock(ctx, s.repo, filerepo.LockBackup, false, time.Now(), time.Hour)
	filestest.Must(t, err)
	rep, err = s.GC(ctx, GCOptions{GracePeriod: time.Hour})
	filestest.Must(t, err)
	if rep.FreedBytes == 0 {
		t.Fatalf("the first mark's backups had all finished and its grace period passed: %+v", rep)
	}
	filestest.WriteFile(t, filepath.Join(dir, "g"), filestest.RandomBytes(21, 1<<20), 0o644)
	snap2, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
	filestest.Must(t, err)
	filestest.Must(t, s.Forget(ctx, snap2.ID))
	_, err = s.GC(ctx, GCOptions{GracePeriod: 0})
	filestest.Must(t, err)
	if rep, err = s.GC(ctx, GCOptions{GracePeriod: 0}); err != nil || rep.FreedBytes != 0 || !strings.Contains(strings.Join(rep.Waiting, " "), "still running") {
		t.Fatalf("deleted while a backup older than the mark runs: %v %+v", err, rep)
	}
	filestest.Must(t, other.Release(ctx))
	if rep, _ = s.GC(ctx, GCOptions{GracePeriod: 0}); rep.FreedBytes == 0 {
		t.Fatalf("the backup finished: want the deletion now: %+v", rep)
	}
	mustVerify(t, s)
}

// gated pauses Puts of keys with a prefix, once armed, until opened, to stop a backup at a
// chosen step.
type gated struct {
	blob.Storage
	prefix  string
	armed   atomic.Bool
	reached chan struct{}
	open    chan struct{}
	once    sync.Once
}

func (g *gated) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	if g.armed.Load() && strings.HasPrefix(key, g.prefix) {
		g.once.Do(func() { close(g.reached) })
		<-g.open
	}
	return g.Storage.Put(ctx, key, r, opts)
}

func TestGCRacingABackupLosesNothing(t *testing.T) {
	for _, when := range []string{"backup-before-mark", "backup-after-mark"} {
		t.Run(when, func(t *testing.T) {
			ctx := context.Background()
			mem := memory.New()
			g := &gated{Storage: mem, prefix: filerepo.SnapshotsPrefix, reached: make(chan struct{}), open: make(chan struct{})}
			s := newTestStore(t, g)
			dir := t.TempDir()
			filestest.WriteFile(t, filepath.Join(dir, "data"), filestest.RandomBytes(30, 3<<20), 0o644)
			first, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
			filestest.Must(t, err)
			filestest.Must(t, s.Forget(ctx, first.ID)) // its chunks are garbage now
			if when == "backup-after-mark" {
				if _, err := s.GC(ctx, GCOptions{GracePeriod: time.Hour}); err != nil {
					t.Fatal(err)
				}
			}
			// A backup of the same data deduplicates against the garbage (before the mark) or
			// stores it anew (after); it stops just before writing its snapshot.
			done := make(chan error, 1)
			var second *filerepo.Snapshot
			g.armed.Store(true)
			go func() {
				snap, err := s.Backup(ctx, dir, BackupOptions{Source: "x", NoParent: true})
				second = snap
				done <- err
			}()
			select {
			case <-g.reached:
			case err := <-done:
				t.Fatalf("the backup ended before its snapshot: %v", err)
			}
			if _, err := s.GC(ctx, GCOptions{GracePeriod: 0}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GC(ctx, GCOptions{GracePeriod: 0}); err != nil {
				t.Fatal(err)
			}
			close(g.open)
			filestest.Must(t, <-done)
			for range 2 {
				if _, err := s.GC(ctx, GCOptions{GracePeriod: 0}); err != nil {
					t.Fatal(err)
				}
			}
			mustVerify(t, s)
			mustRestoreEqual(t, s, second, dir)
		})
	}
}

// dying makes every write fail after a number of them, as a process killed at that point
// leaves the storage: what it wrote stays, nothing more comes, its lock is never removed.
type dying struct {
	blob.Storage
	mu   sync.Mutex
	left int
}

var errKilled = errors.New("killed")

func (d *dying) alive() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.left--
	return d.left >= 0
}

func (d *dying) Put(ctx context.Context, key string, r io.Reader, opts blob.PutOptions) error {
	if !d.alive() {
		return errKilled
	}
	return d.Storage.Put(ctx, key, r, opts)
}

func (d *dying) Delete(ctx context.Context, key string) error {
	if !d.alive() {
		return errKilled
	}
	return d.Storage.Delete(ctx, key)
}

// clockedMemory is in-memory storage on a clock the test moves with advance.
func clockedMemory() (mem *memory.Storage, advance func(time.Duration)) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	mem = memory.New()
	mem.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	return mem, func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
}

// mustCleanUp runs collections once the dead processes' locks are stale, then wants a store
// without leftovers whose next backup of dir restores equal to it.
func mustCleanUp(t *testing.T, s *Store, advance func(time.Duration), dir string) *filerepo.Snapshot {
	t.Helper()
	ctx := context.Background()
	advance(filerepo.LockStaleAfter + time.Minute)
	for range 2 {
		_, err := s.GC(ctx, GCOptions{GracePeriod: 0})
		filestest.Must(t, err)
	}
	if notes := mustVerify(t, s); len(notes) > 0 {
		t.Fatalf("leftovers after collections: %v", notes)
	}
	last, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
	filestest.Must(t, err)
	mustRestoreEqual(t, s, last, dir)
	return last
}

// reopen opens the test repository (newTestStore's) again through st.
func reopen(t *testing.T, st blob.Storage) *Store {
	t.Helper()
	repo, err := archive.Open(context.Background(), st, archive.Credential{Passphrase: []byte("test")})
	filestest.Must(t, err)
	s, err := Open(repo, Options{})
	filestest.Must(t, err)
	return s
}

func TestKilledBackupsLeaveARepositoryThatVerifies(t *testing.T) {
	ctx := context.Background()
	mem, advance := clockedMemory()
	s := newTestStore(t, mem)
	dir := t.TempDir()
	for i := range 12 {
		filestest.WriteFile(t, filepath.Join(dir, "d", strings.Repeat("f", i+1)), filestest.RandomBytes(uint64(40+i), 300_000+i*200_000), 0o644)
	}
	base, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
	filestest.Must(t, err)
	r := rand.New(rand.NewPCG(5, 5))
	for run := range 20 {
		// Change a few files, then kill a backup after a random number of writes.
		filestest.WriteFile(t, filepath.Join(dir, "d", strings.Repeat("f", 1+r.IntN(12))), filestest.RandomBytes(uint64(1000+run), 1_000_000), 0o644)
		ks := reopen(t, &dying{Storage: mem, left: r.IntN(8)})
		_, err := ks.Backup(ctx, dir, BackupOptions{Source: "x", Sealers: 1 + r.IntN(2)})
		if err == nil {
			continue // it finished before its time
		}
		ids, _ := filerepo.SnapshotIDs(ctx, mem)
		for _, id := range ids {
			if _, err := filerepo.LoadSnapshot(ctx, s.repo, id); err != nil {
				t.Fatalf("run %d: a killed backup left a snapshot that does not open: %v", run, err)
			}
		}
		mustVerify(t, s)
	}
	// The dead backups' locks go stale; then collections remove everything they left.
	if last := mustCleanUp(t, s, advance, dir); base.Tree == last.Tree {
		t.Fatal("the source changed between the first and last backups")
	}
}

func TestKilledCollectionsLeaveARepositoryThatVerifies(t *testing.T) {
	ctx := context.Background()
	mem, advance := clockedMemory()
	s := newTestStore(t, mem)
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(7, 7))
	var keep []*filerepo.Snapshot
	for run := range 20 {
		// Something to collect: a snapshot forgotten, its files partly shared with the next.
		for i := range 6 {
			filestest.WriteFile(t, filepath.Join(dir, "f"+strings.Repeat("x", i)), filestest.RandomBytes(uint64(run*10+i), 200_000+r.IntN(400_000)), 0o644)
		}
		old, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
		filestest.Must(t, err)
		filestest.WriteFile(t, filepath.Join(dir, "f"), filestest.RandomBytes(uint64(1000+run), 300_000), 0o644)
		kept, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
		filestest.Must(t, err)
		keep = append(keep, kept)
		filestest.Must(t, s.Forget(ctx, old.ID))
		// A collection that dies after a random number of writes or deletes.
		_, _ = reopen(t, &dying{Storage: mem, left: r.IntN(12)}).GC(ctx, GCOptions{GracePeriod: 0})
		mustVerify(t, s)
		advance(filerepo.LockStaleAfter + time.Minute) // its lock goes stale
	}
	mustCleanUp(t, s, advance, dir)
	for _, k := range keep {
		entries, err := s.List(ctx, k, "", true)
		if err != nil || len(entries) != 6 {
			t.Fatalf("snapshot %s lost entries: %v %d", k.ID, err, len(entries))
		}
	}
}

// getGate pauses the first Get of a key with a prefix, once armed, until opened.
type getGate struct {
	blob.Storage
	prefix  string
	armed   atomic.Bool
	reached chan struct{}
	open    chan struct{}
	once    sync.Once
}

func (g *getGate) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if g.armed.Load() && strings.HasPrefix(key, g.prefix) {
		first := false
		g.once.Do(func() { first = true; close(g.reached) })
		if first {
			<-g.open
		}
	}
	return g.Storage.Get(ctx, key, off, n)
}

func TestRestoreFollowsAPackRepackedUnderIt(t *testing.T) {
	ctx := context.Background()
	mem, advance := clockedMemory()
	g := &getGate{Storage: mem, prefix: filerepo.PacksPrefix, reached: make(chan struct{}), open: make(chan struct{})}
	s := newTestStore(t, g)
	dir := t.TempDir()
	filestest.WriteFile(t, filepath.Join(dir, "big"), filestest.RandomBytes(60, 3<<20), 0o644)
	filestest.WriteFile(t, filepath.Join(dir, "small"), filestest.RandomBytes(61, 200_000), 0o644)
	first, err := s.Backup(ctx, dir, BackupOptions{Source: "x"})
	filestest.Must(t, err)
	filestest.Must(t, os.Remove(filepath.Join(dir, "big")))
	second, err := s.Backup(ctx, dir, BackupOptions{Source: "x"}) // small's chunk stays in the first pack
	filestest.Must(t, err)
	filestest.Must(t, s.Forget(ctx, first.ID))
	_, err = s.GC(ctx, GCOptions{GracePeriod: time.Hour}) // marks big's chunks
	filestest.Must(t, err)

	// A restore that starts after the mark does not hold its deletion back: the first pack is
	// repacked while the restore holds an index that still points into it.
	g.armed.Store(true)
	done := make(chan error, 1)
	dst := filepath.Join(t.TempDir(), "r")
	go func() {
		sum, err := s.Restore(ctx, second, "", dst, RestoreOptions{})
		if err == nil && len(sum.Problems) > 0 {
			err = errors.New(strings.Join(sum.Problems, "; "))
		}
		done <- err
	}()
	<-g.reached
	advance(2 * time.Hour)
	rep, err := s.GC(ctx, GCOptions{GracePeriod: time.Hour})
	filestest.Must(t, err)
	if rep.RepackedPacks == 0 {
		t.Fatalf("the test wants the first pack repacked under the restore: %+v", rep)
	}
	close(g.open)
	if err := <-done; err != nil {
		t.Fatalf("the restore did not follow the repacked chunks: %v", err)
	}
	if d := filestest.Diff(filestest.Describe(t, dir), filestest.Describe(t, dst)); d != "" {
		t.Fatalf("restore differs:\n%s", d)
	}
}
