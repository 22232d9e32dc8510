package store

import (
	"errors"
	"testing"
	"time"
)

func TestSessions(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		at := fixedClock()
		want := Session{ID: "h1", Vault: "prod", Name: "alice", Role: "operator", TokenSealed: "sealed", CSRF: "c", SSO: true,
			CreatedAt: at, LastSeen: at}
		if err := st.CreateSession(ctx, want); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateSession(ctx, Session{ID: "h2", Vault: "prod", Name: "bob", Role: "reader", TokenSealed: "s", CSRF: "c",
			CreatedAt: at.Add(-13 * time.Hour), LastSeen: at.Add(-13 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetSession(ctx, "h1")
		if err != nil || got.Name != "alice" || !got.SSO || got.TokenSealed != "sealed" || !got.LastSeen.Equal(at) {
			t.Fatalf("session %+v, %v", got, err)
		}
		changed := got
		changed.Vault, changed.Name, changed.Role, changed.TokenSealed, changed.VaultsSealed, changed.SSO = "dev", "alice-dev", "reader", "t2", "all", false
		if err := st.UpdateSession(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if got, err := st.GetSession(ctx, "h1"); err != nil || got != changed {
			t.Fatalf("changed session %+v, %v; want %+v", got, err, changed)
		}
		if err := st.UpdateSession(ctx, Session{ID: "gone"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a session that ended changed: %v", err)
		}
		if err := st.TouchSession(ctx, "h1", at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, err := st.GetSession(ctx, "h1"); err != nil || !got.LastSeen.Equal(at.Add(time.Hour)) {
			t.Fatalf("touched session %+v, %v", got, err)
		}
		if n, err := st.PruneSessions(ctx, at.Add(-12*time.Hour)); err != nil || n != 1 {
			t.Fatalf("pruned %d, %v", n, err)
		}
		if _, err := st.GetSession(ctx, "h2"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("idle session read after pruning: %v", err)
		}
		if err := st.DeleteSession(ctx, "h1"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetSession(ctx, "h1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ended session read: %v", err)
		}
	})
}

func TestServerKeyIsMadeOnce(t *testing.T) {
	eachBackendReopen(t, func(t *testing.T, open func() *Store) {
		a, b := open(), open()
		first, err := a.ServerKey(t.Context(), "k", func() (string, error) { return "one", nil })
		if err != nil || first != "one" {
			t.Fatalf("first key %q, %v", first, err)
		}
		second, err := b.ServerKey(t.Context(), "k", func() (string, error) { return "two", nil })
		if err != nil || second != "one" {
			t.Fatalf("second replica's key %q, %v", second, err)
		}
	})
}
