package store

import (
	"errors"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
)

// TestObjectivesAndLastGoodBackups: a policy's and an instance's objectives round-trip (an
// override shorter than the schedule is refused), and LastGoodBackups finds each instance's
// newest completed point, not a newer partial one.
func TestObjectivesAndLastGoodBackups(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		clk := withClock(st)
		p := daily("strict")
		p.RPO = policy.Duration(30 * time.Hour)
		if err := st.CreatePolicy(ctx, "prod", p); err != nil {
			t.Fatal(err)
		}
		if got, err := st.GetPolicy(ctx, "prod", "strict"); err != nil || got.RPO != p.RPO {
			t.Fatalf("policy rpo read back %s, %v", got.RPO, err)
		}
		spec := InstanceSpec{Name: "tight", Cluster: "east", Policy: "strict", RPO: policy.Duration(time.Hour),
			Backup: mustJSON(t, vaultv1.BackupConfig{}), Storage: mustJSON(t, vaultv1.StorageLocation{URL: "file:///b/tight", PassphraseSecret: "pass"})}
		if _, _, err := st.RegisterCluster(ctx, "prod", "east"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateInstance(ctx, "prod", spec); !errors.Is(err, ErrInvalid) {
			t.Fatalf("an override under the daily interval: %v, want ErrInvalid", err)
		}
		spec.RPO = policy.Duration(48 * time.Hour)
		if in, err := st.CreateInstance(ctx, "prod", spec); err != nil || in.RPO != spec.RPO {
			t.Fatalf("instance rpo read back %+v, %v", in.RPO, err)
		}

		shop := protect(t, st, "west", "shop")
		lc := lifecycle(st)
		var completedAt time.Time
		for i, phase := range []string{archive.PhaseCompleted, archive.PhaseCompleted, archive.PhasePartiallyFailed} {
			clk.advance(time.Hour)
			j := backupJob(t, st, shop, []string{"shop-1", "shop-2", "shop-3"}[i])
			if _, ok, err := lc.Claim(ctx, "prod", "west", time.Minute); !ok || err != nil {
				t.Fatalf("claim: %v %v", ok, err)
			}
			if phase == archive.PhaseCompleted {
				completedAt = clk.t
			}
			if err := lc.Complete(ctx, "prod", "west", j.ID, agentv1.Completion{State: agentv1.JobSucceeded,
				Result: &agentv1.JobResult{RecoveryPoint: &agentv1.RecoveryPoint{Phase: phase, Items: 1, Time: clk.t}}}); err != nil {
				t.Fatal(err)
			}
		}
		good, err := st.LastGoodBackups(ctx, "prod", archive.PhaseCompleted)
		if err != nil || len(good) != 1 || !good["shop"].Equal(completedAt) {
			t.Fatalf("last good backups %v, %v; want shop at %s", good, err, completedAt)
		}
	})
}
