package store

import (
	"database/sql"
	"errors"
	"testing"
	"time"
)

func TestLeadership(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		now := fixedClock()
		lead := func(holder string, at time.Time) (int64, bool) {
			t.Helper()
			term, ok, err := st.Lead(ctx, "scheduler", holder, at, at.Add(15*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			return term, ok
		}
		if holder, _, _, err := leader(t, st); err != nil || holder != "" {
			t.Fatalf("leader before anyone led: %q %v", holder, err)
		}
		if term, ok := lead("a", now); !ok || term != 1 {
			t.Fatalf("a did not take the free role: term %d, %v", term, ok)
		}
		if _, ok := lead("b", now.Add(10*time.Second)); ok {
			t.Fatal("b took the role while a's lease ran")
		}
		if term, ok := lead("a", now.Add(10*time.Second)); !ok || term != 1 {
			t.Fatalf("a could not renew: term %d, %v", term, ok)
		}
		// a's lease now runs to now+25s.
		if _, ok := lead("b", now.Add(24*time.Second)); ok {
			t.Fatal("b took the role before a's renewed lease ended")
		}
		if term, ok := lead("b", now.Add(26*time.Second)); !ok || term != 2 {
			t.Fatalf("b did not take the expired role: term %d, %v", term, ok)
		}
		if _, ok := lead("a", now.Add(27*time.Second)); ok {
			t.Fatal("a took the role back from b")
		}
		holder, term, until, err := leader(t, st)
		if err != nil || holder != "b" || term != 2 || !until.Equal(now.Add(41*time.Second)) {
			t.Fatalf("leader %q term %d until %v, %v", holder, term, until, err)
		}
		// Stepping down hands over at once; a replica that does not hold the role changes nothing.
		if err := st.StepDown(ctx, "scheduler", "a"); err != nil {
			t.Fatal(err)
		}
		if _, ok := lead("a", now.Add(28*time.Second)); ok {
			t.Fatal("a's step-down of a role it did not hold freed it")
		}
		if err := st.StepDown(ctx, "scheduler", "b"); err != nil {
			t.Fatal(err)
		}
		if term, ok := lead("a", now.Add(28*time.Second)); !ok || term != 3 {
			t.Fatalf("a did not take the role b gave up: term %d, %v", term, ok)
		}
	})
}

// leader reads the scheduler's leadership row; holder is "" when there is none.
func leader(t *testing.T, st *Store) (holder string, term int64, until time.Time, err error) {
	err = st.db.QueryRowContext(t.Context(), `SELECT holder, term, expires_at FROM leadership WHERE role = 'scheduler'`).Scan(&holder, &term, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, time.Time{}, nil
	}
	return holder, term, until, err
}
