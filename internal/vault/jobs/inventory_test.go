package jobs_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// TestReconcile rebuilds an instance's catalogue from two pages of its repository: the points the
// catalogue lacks are recorded, a point it deleted stays deleted, the live point storage lost and
// the backup it cannot read are logged, and the second page is queued by the first.
func TestReconcile(t *testing.T) {
	f := newFixture()
	ctx := t.Context()
	var points []string
	for range 3 {
		f.clk.advance(time.Hour)
		points = append(points, f.madePoint(t, shop))
	}
	if err := f.QueueDeletions(ctx, "prod", shop, jobs.TriggerUser, "bob", jobs.Deletion{RecoveryPoint: points[0]}); err != nil {
		t.Fatal(err)
	}
	del := f.claim(t, 4)
	f.complete(t, del.ID, agentv1.Completion{State: agentv1.JobSucceeded})

	first := f.queue(t, jobs.InventoryJob(shop, "", jobs.TriggerUser, "alice"))
	if j := f.claim(t, first.ID); j.Spec.Inventory == nil || j.Spec.Inventory.Storage != shop.Storage || j.Spec.Inventory.After != "" {
		t.Fatalf("inventory job %+v", j)
	}
	// Storage holds points 0 and 1 (page 1), then a point the catalogue never had and a backup cut
	// short (page 2); point 2 is gone from storage.
	f.complete(t, first.ID, agentv1.Completion{State: agentv1.JobSucceeded, Result: &agentv1.JobResult{Inventory: &agentv1.InventoryResult{
		Points: []agentv1.RecoveryPoint{{Name: points[0], Phase: archive.PhaseCompleted}, {Name: points[1], Phase: archive.PhaseCompleted}},
		More:   true}}})
	next := f.claim(t, first.ID+1)
	if next.Kind != jobs.KindInventory || next.Spec.Inventory.After != points[1] || next.CreatedBy != "alice" {
		t.Fatalf("next page's job %+v", next)
	}
	lost := "shop-20991231000000"
	f.complete(t, next.ID, agentv1.Completion{State: agentv1.JobSucceeded, Result: &agentv1.JobResult{Inventory: &agentv1.InventoryResult{
		Points:     []agentv1.RecoveryPoint{{Name: lost, Phase: archive.PhaseCompleted, Items: 12, StoredBytes: 300, Time: t0}},
		Unreadable: []agentv1.UnreadableBackup{{Name: "shop-20991231000001", Problem: "incomplete: interrupted before it committed"}}}}})
	f.claim(t, 0)

	d := f.st.read()
	got, ok := d.points["prod/"+lost]
	if !ok || got.Instance != "shop" || got.Cluster != "east" || got.Items != 12 || got.Job != next.ID || !got.Time.Equal(t0) {
		t.Fatalf("recovered point %+v (%v)", got, ok)
	}
	if d.points["prod/"+points[0]].deleted.IsZero() {
		t.Error("the point the catalogue deleted was brought back")
	}
	want := map[int64][]string{
		first.ID: {"warn: recovery point " + points[0] + " is in storage but deleted in the catalogue"},
		next.ID: {"info: recovered recovery point " + lost, "warn: backup shop-20991231000001 in storage cannot be read: incomplete",
			"warn: recovery point " + points[2] + " is in the catalogue but not in storage"},
	}
	for id, lines := range want {
		logs := f.logs(id)
		for _, w := range lines {
			if !slices.ContainsFunc(logs, func(l string) bool { return strings.HasPrefix(l, w) }) {
				t.Errorf("job %d's log lacks %q: %q", id, w, logs)
			}
		}
	}
	if logs := f.logs(first.ID); slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, points[2]) }) {
		t.Errorf("the first page called point 2 missing before the page that would hold it: %q", logs)
	}
}
