package jobs_test

import (
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// TestQueueVerifications: scheduled verifications are queued with their instance's record, many
// to a transaction; each job holds its instance's lease key, so it waits for the instance's
// backup; its spec names the point, the storage and the level.
func TestQueueVerifications(t *testing.T) {
	f := newFixture()
	f.st.perTx = 2
	backup := f.backup(t, shop, t0)
	vs := []jobs.Verification{
		{Instance: "shop", Data: false, Job: jobs.VerifyJob(shop, "shop-1", agentv1.VerifyStructure, jobs.TriggerScheduled, "scheduler")},
		{Instance: "web", Data: true, Job: jobs.VerifyJob(web, "web-1", agentv1.VerifyData, jobs.TriggerScheduled, "scheduler")},
		{Instance: "web", Data: false, Job: jobs.VerifyJob(web, "web-1", agentv1.VerifyStructure, jobs.TriggerScheduled, "scheduler")},
	}
	ids, err := f.QueueVerifications(t.Context(), "prod", vs)
	if err != nil || len(ids) != 3 {
		t.Fatalf("queued %v, %v", ids, err)
	}
	j, err := f.Get(t.Context(), "prod", ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if j.Kind != jobs.KindVerify || j.Instance != "shop" || j.Cluster != "east" || j.RecoveryPoint != "shop-1" || j.Trigger != jobs.TriggerScheduled ||
		j.CreatedBy != "scheduler" || j.Spec.Verify == nil || *j.Spec.Verify != (agentv1.VerifyJob{RecoveryPoint: "shop-1", Storage: shop.Storage,
		Level: agentv1.VerifyStructure}) || !j.CreatedAt.Equal(t0) {
		t.Errorf("verify job %+v (spec %+v)", j, j.Spec.Verify)
	}
	d := f.st.read()
	if v := d.verified["prod/shop"]; !v[0].Equal(t0) || !v[1].IsZero() {
		t.Errorf("shop's record %v: structure at t0, no data", v)
	}
	if v := d.verified["prod/web"]; !v[0].Equal(t0) || !v[1].Equal(t0) {
		t.Errorf("web's record %v: both at t0", v)
	}
	// The instance's backup runs first: they share its lease key.
	f.claim(t, backup.ID)
	if _, ok, err := f.Claim(t.Context(), "prod", "east", time.Minute); err != nil || !ok {
		t.Fatalf("the web verification is free to run: %v %v", ok, err)
	}
}
