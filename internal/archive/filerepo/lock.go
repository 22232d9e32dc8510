package filerepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/blob"
)

// LocksPrefix is where locks live.
const LocksPrefix = "files/locks/"

// Lock timing (§15).
const (
	LockRefreshEvery = 5 * time.Minute
	LockStaleAfter   = 30 * time.Minute
)

// Lock kinds.
const (
	LockBackup  = "backup"
	LockRestore = "restore"
	LockVerify  = "verify"
	LockGC      = "gc"
)

const lockFormat = "cairn-file-lock"

// Lock is what a lock records.
type Lock struct {
	Kind      string    `json:"kind"`
	Exclusive bool      `json:"exclusive"`
	Hostname  string    `json:"hostname"`
	PID       int       `json:"pid"`
	CreatedAt time.Time `json:"createdAt"`
}

// LockKey is the storage key of a lock.
func LockKey(n Name) string { return LocksPrefix + n.String() }

func lockContext(n Name) string { return "cairn/v1/file-lock\x00" + n.String() }

// HeldLock is a lock this process holds and refreshes until Release.
type HeldLock struct {
	Name Name
	// StorageNow is the storage's clock when the lock was written (§15).
	StorageNow time.Time
	repo       *archive.Repository
	data       []byte
	stop       chan struct{}
	done       sync.WaitGroup
	mu         sync.Mutex
	refreshErr error
}

// AcquireLock writes a lock and refreshes it every interval (LockRefreshEvery when zero) until
// Release.
func AcquireLock(ctx context.Context, repo *archive.Repository, kind string, exclusive bool, now time.Time, interval time.Duration) (*HeldLock, error) {
	host, _ := os.Hostname()
	l := &HeldLock{Name: NewName(), repo: repo, stop: make(chan struct{})}
	data, err := repo.EncodeEnvelope(lockFormat, lockContext(l.Name), Lock{Kind: kind, Exclusive: exclusive, Hostname: host, PID: os.Getpid(), CreatedAt: now.UTC()})
	if err != nil {
		return nil, err
	}
	l.data = data
	st := repo.Storage()
	if err := put(ctx, st, LockKey(l.Name), data, true); err != nil {
		return nil, fmt.Errorf("lock the file store: %w", err)
	}
	info, err := st.Stat(ctx, LockKey(l.Name))
	if err != nil {
		_ = st.Delete(context.WithoutCancel(ctx), LockKey(l.Name))
		return nil, fmt.Errorf("lock the file store: %w", err)
	}
	l.StorageNow = info.ModTime
	if interval <= 0 {
		interval = LockRefreshEvery
	}
	l.done.Add(1)
	go l.refresh(context.WithoutCancel(ctx), interval)
	return l, nil
}

func (l *HeldLock) refresh(ctx context.Context, interval time.Duration) {
	defer l.done.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			err := put(ctx, l.repo.Storage(), LockKey(l.Name), l.data, false)
			l.mu.Lock()
			l.refreshErr = err
			l.mu.Unlock()
		}
	}
}

// Err is the last refresh's error: a lock that cannot be refreshed goes stale, and a long
// backup should stop before a collection takes it for dead.
func (l *HeldLock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refreshErr
}

// Release stops refreshing and deletes the lock.
func (l *HeldLock) Release(ctx context.Context) error {
	close(l.stop)
	l.done.Wait()
	if err := l.repo.Storage().Delete(context.WithoutCancel(ctx), LockKey(l.Name)); err != nil && !errors.Is(err, blob.ErrNotFound) {
		return fmt.Errorf("remove lock %s: %w", l.Name, err)
	}
	return nil
}

// LockInfo is a lock found in storage.
type LockInfo struct {
	Name    Name
	ModTime time.Time
	Lock    Lock
	// Err says why the lock's record could not be read (it still counts as a lock).
	Err error
}

// Stale reports whether the lock's process is gone, by the storage's clock now.
func (li LockInfo) Stale(now time.Time) bool { return now.Sub(li.ModTime) > LockStaleAfter }

// ListLocks reads every lock.
func ListLocks(ctx context.Context, repo *archive.Repository) ([]LockInfo, error) {
	var out []LockInfo
	st := repo.Storage()
	err := st.List(ctx, LocksPrefix, func(info blob.Info) error {
		n, err := ParseName(strings.TrimPrefix(info.Key, LocksPrefix))
		if err != nil {
			return nil
		}
		out = append(out, LockInfo{Name: n, ModTime: info.ModTime})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list locks: %w", err)
	}
	for i := range out {
		li := &out[i]
		data, err := blob.ReadAll(ctx, st, LockKey(li.Name), 1<<20)
		if errors.Is(err, blob.ErrNotFound) {
			continue // released meanwhile; callers see the time it had
		}
		if err == nil {
			err = repo.DecodeEnvelope(LockKey(li.Name), lockFormat, lockContext(li.Name), data, &li.Lock)
		}
		li.Err = err
	}
	return out, nil
}

// DeleteLock removes a (stale) lock.
func DeleteLock(ctx context.Context, st blob.Storage, n Name) error {
	if err := st.Delete(ctx, LockKey(n)); err != nil && !errors.Is(err, blob.ErrNotFound) {
		return fmt.Errorf("remove stale lock %s: %w", n, err)
	}
	return nil
}
