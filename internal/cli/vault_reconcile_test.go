package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/archive"
)

// TestVaultRecover rebuilds an instance's catalogue from two pages of its repository (the test
// plays the agent): the point the catalogue lost comes back, and what storage cannot give is
// reported.
func TestVaultRecover(t *testing.T) {
	v := startTestVault(t)
	a := v.protect(t, "prod", "shop")
	v.ok(t, "instance", "backup-now", "shop")
	made, err := a.runBackup(vaultv1.JobSucceeded, "")
	if err != nil {
		t.Fatal(err)
	}
	done := v.runAsync(t, "vault", "recover", "--poll-interval", "50ms")
	a.kinds = []string{agentv1.KindInventory}
	lost := "shop-20260101000000" // before the point the backup made: that one ends the first page
	pages := []agentv1.InventoryResult{
		{Points: []agentv1.RecoveryPoint{{Name: made.Spec.Backup.RecoveryPoint, Phase: archive.PhaseCompleted},
			{Name: lost, Phase: archive.PhaseCompleted, Items: 9, Time: time.Now().Add(-24 * time.Hour)}}, More: true},
		{Unreadable: []agentv1.UnreadableBackup{{Name: "shop-20990101000000", Problem: "incomplete: interrupted before it committed"}}},
	}
	for i, page := range pages {
		j, err := a.claim()
		if err != nil {
			t.Fatal(err)
		}
		if j.Kind != agentv1.KindInventory || j.Spec.Inventory == nil || (i == 1) != (j.Spec.Inventory.After == made.Spec.Backup.RecoveryPoint) {
			t.Fatalf("page %d: claimed %s job %+v", i, j.Kind, j.Spec)
		}
		if err := a.complete(j.ID, agentv1.Completion{State: agentv1.JobSucceeded, Result: &agentv1.JobResult{Inventory: &page}}); err != nil {
			t.Fatal(err)
		}
	}
	r := await(t, done)
	if r.err != nil {
		t.Fatalf("recover: %v\n%s", r.err, r.stderr)
	}
	for _, want := range []string{
		"shop: recovered recovery point " + lost,
		"shop: backup shop-20990101000000 in storage cannot be read: incomplete",
		`instance "shop": 1 recovery point(s) recovered from storage, 0 in the catalogue but not in storage, 1 unreadable in storage, 0 deleted in the catalogue and left deleted (2 page(s))`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("recover's output lacks %q:\n%s", want, r.stdout)
		}
	}
	if out := v.ok(t, "recovery-point", "show", lost); !strings.Contains(out, lost) {
		t.Errorf("the recovered point is not shown:\n%s", out)
	}
}
