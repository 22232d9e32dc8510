package store

import (
	"testing"
	"time"
)

// TestOldestQueued: per kind, when the oldest job still queued was created; claimed (running)
// jobs and other vaults' do not count.
func TestOldestQueued(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		clk := withClock(st)
		shop := protect(t, st, "east", "shop")
		web := protect(t, st, "east", "web")
		backupJob(t, st, shop, "shop-1") // claimed below: no longer queued
		clk.advance(time.Minute)
		second := backupJob(t, st, web, "web-1")
		clk.advance(time.Minute)
		backupJob(t, st, shop, "shop-2")
		if _, ok, err := lifecycle(st).Claim(ctx, "prod", "east", time.Minute); err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		got, err := st.OldestQueued(ctx, "prod")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !got["backup"].Equal(second.CreatedAt) {
			t.Fatalf("oldest queued %v, want backup at %s", got, second.CreatedAt)
		}
		if got, err := st.OldestQueued(ctx, "other"); err != nil || len(got) != 0 {
			t.Fatalf("another vault: %v %v", got, err)
		}
	})
}
