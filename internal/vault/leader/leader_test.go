package leader

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memStore is the leadership row in memory; down makes it fail every call, as a database the
// replica lost.
type memStore struct {
	mu     sync.Mutex
	holder string
	term   int64
	until  time.Time
	down   atomic.Bool
}

func (m *memStore) Lead(_ context.Context, _, holder string, now, until time.Time) (int64, bool, error) {
	if m.down.Load() {
		return 0, false, errors.New("connection refused")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holder != holder && m.holder != "" && !m.until.Before(now) {
		return 0, false, nil
	}
	if m.holder != holder {
		m.term++
	}
	m.holder, m.until = holder, until
	return m.term, true, nil
}

func (m *memStore) StepDown(_ context.Context, _, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holder == holder {
		m.until = time.Time{}
	}
	return nil
}

// replica runs an elector until stopped, counting how many of all replicas lead at once.
type replica struct {
	leading atomic.Bool
	stop    context.CancelFunc
	done    chan struct{}
}

func start(t *testing.T, st Store, name string, leaders *atomic.Int32, most *atomic.Int32) *replica {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &replica{stop: cancel, done: make(chan struct{})}
	e := &Elector{Store: st, Role: RoleScheduler, Holder: name, TTL: 300 * time.Millisecond, Renew: 50 * time.Millisecond, Now: time.Now}
	go func() {
		defer close(r.done)
		e.Run(ctx, func(ctx context.Context) {
			r.leading.Store(true)
			n := leaders.Add(1)
			for {
				if m := most.Load(); n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			<-ctx.Done()
			leaders.Add(-1)
			r.leading.Store(false)
		})
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOneReplicaLeadsAndAnotherTakesOver(t *testing.T) {
	st := &memStore{}
	var leaders, most atomic.Int32
	rs := []*replica{start(t, st, "a", &leaders, &most), start(t, st, "b", &leaders, &most), start(t, st, "c", &leaders, &most)}
	leader := func() *replica {
		for _, r := range rs {
			if r.leading.Load() {
				return r
			}
		}
		return nil
	}
	eventually(t, "a replica leads", time.Second, func() bool { return leader() != nil })

	// A replica that stops gives the role up: another leads within a renewal or two.
	first := leader()
	first.stop()
	<-first.done
	stopped := time.Now()
	eventually(t, "another replica leads after the leader stopped", time.Second, func() bool { return leader() != nil })
	if took := time.Since(stopped); took > 200*time.Millisecond {
		t.Errorf("the handover took %v, more than the lease would have", took)
	}

	// A leader that loses its database stops leading before its lease ends; another takes over.
	second := leader()
	st.down.Store(true)
	lost := time.Now()
	eventually(t, "the leader stops leading without its database", time.Second, func() bool { return !second.leading.Load() })
	if took := time.Since(lost); took > 300*time.Millisecond {
		t.Errorf("the leader led %v without renewing, past its lease", took)
	}
	st.down.Store(false)
	eventually(t, "a replica leads again", 2*time.Second, func() bool { return leader() != nil })
	if n := most.Load(); n != 1 {
		t.Errorf("%d replicas led at once", n)
	}
}
