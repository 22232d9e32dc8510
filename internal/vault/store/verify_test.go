package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
)

// TestVerificationScheduleAndResults: a policy's verify section round trips; queueing scheduled
// verifications records them on their instance; each recovery point's newest verify job is its
// verification.
func TestVerificationScheduleAndResults(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		clk := withClock(st)
		p := daily("checked")
		week, _ := policy.ParseDuration("7d")
		p.Verify = &policy.VerifySchedule{Structure: week, Data: week * 4}
		if err := st.CreatePolicy(ctx, "prod", p); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetPolicy(ctx, "prod", "checked")
		if err != nil || got.Verify == nil || *got.Verify != *p.Verify {
			t.Fatalf("policy read back %+v, %v", got.Verify, err)
		}
		all, err := st.ListPolicies(ctx, "prod")
		if err != nil || len(all) != 1 || all[0].Verify == nil {
			t.Fatalf("policies listed %+v, %v", all, err)
		}

		shop, db := protect(t, st, "east", "shop"), protect(t, st, "east", "db")
		if plain, _ := st.GetPolicy(ctx, "prod", "p-shop"); plain.Verify != nil {
			t.Fatalf("a policy without verify has %+v", plain.Verify)
		}
		if shop.LastVerifyStructureAt != nil || shop.LastVerifyDataAt != nil {
			t.Fatalf("new instance %+v", shop)
		}
		lc := lifecycle(st)
		verification := func(in Instance, rp string, data bool) jobs.Verification {
			level := agentv1.VerifyStructure
			if data {
				level = agentv1.VerifyData
			}
			return jobs.Verification{Instance: in.Name, Data: data,
				Job: jobs.VerifyJob(jobs.Instance{Name: in.Name, Cluster: in.Cluster, Storage: storage(t, in)}, rp, level, jobs.TriggerScheduled, "scheduler")}
		}
		first := clk.t
		ids, err := lc.QueueVerifications(ctx, "prod", []jobs.Verification{verification(shop, "shop-1", false), verification(db, "db-1", true)})
		if err != nil || len(ids) != 2 {
			t.Fatalf("queue: %v %v", ids, err)
		}
		checkRecorded := func(name string, structure, data *time.Time) {
			t.Helper()
			in, err := st.GetInstance(ctx, "prod", name)
			if err != nil {
				t.Fatal(err)
			}
			same := func(a, b *time.Time) bool { return a == nil && b == nil || a != nil && b != nil && a.Equal(*b) }
			if !same(in.LastVerifyStructureAt, structure) || !same(in.LastVerifyDataAt, data) {
				t.Errorf("%s: recorded structure %v, data %v; want %v, %v", name, in.LastVerifyStructureAt, in.LastVerifyDataAt, structure, data)
			}
		}
		checkRecorded("shop", &first, nil)
		checkRecorded("db", &first, &first)
		clk.t = clk.t.Add(time.Hour)
		second := clk.t
		if _, err := lc.QueueVerifications(ctx, "prod", []jobs.Verification{verification(shop, "shop-2", true), verification(db, "db-1", false)}); err != nil {
			t.Fatal(err)
		}
		checkRecorded("shop", &second, &second)
		checkRecorded("db", &second, &first) // a structure one keeps the data's time

		// An on-demand verification of shop-1 after the scheduled one, and a backup job naming
		// shop-3, which is no verification.
		onDemand, err := lc.Queue(ctx, "prod", jobs.VerifyJob(jobs.Instance{Name: "shop", Cluster: "east", Storage: storage(t, shop)}, "shop-1",
			agentv1.VerifyData, jobs.TriggerOnDemand, "alice"))
		if err != nil {
			t.Fatal(err)
		}
		backupJob(t, st, shop, "shop-3")
		names := []string{"shop-1", "shop-2", "shop-3", "db-1"}
		for i := range 600 { // past one query's worth of names
			names = append(names, fmt.Sprintf("none-%d", i))
		}
		latest, err := st.LatestVerifications(ctx, "prod", names)
		if err != nil {
			t.Fatal(err)
		}
		if len(latest) != 3 || latest["shop-1"].ID != onDemand.ID || latest["shop-2"].Kind != jobs.KindVerify || latest["db-1"].ID != ids[1]+2 {
			t.Errorf("latest verifications %+v", latest)
		}
		if j, err := latest["shop-1"].Decode(); err != nil || j.Spec.Verify.Level != agentv1.VerifyData || j.CreatedBy != "alice" || j.State != jobs.Queued {
			t.Errorf("shop-1's verification %+v %v", j, err)
		}
		if other, err := st.LatestVerifications(ctx, "other", names); err != nil || len(other) != 0 {
			t.Errorf("another vault sees %+v %v", other, err)
		}
		if none, err := st.LatestVerifications(ctx, "prod", nil); err != nil || len(none) != 0 {
			t.Errorf("no names: %+v %v", none, err)
		}
	})
}
