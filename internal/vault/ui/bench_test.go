package ui_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/policy"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/jobs"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// BenchmarkPages serves the heaviest pages of a vault at scale: 5,000 instances on 50 clusters
// reporting 100 namespaces each, and 5,000 jobs in the last 24 hours. Each op is one page,
// through HTTP, the session, the in-process API and SQLite.
func BenchmarkPages(b *testing.B) {
	f := newFixture(b)
	ctx := b.Context()
	for i := range 100 {
		err := f.st.CreatePolicy(ctx, "prod", policy.Policy{Name: fmt.Sprintf("p%03d", i), Schedule: policy.Schedule{EveryHours: 1},
			Retention: policy.Retention{Default: policy.Duration(7 * 24 * time.Hour)}})
		if err != nil {
			b.Fatal(err)
		}
	}
	for c := range 50 {
		cluster := fmt.Sprintf("c%02d", c)
		if _, _, err := f.st.RegisterCluster(ctx, "prod", cluster); err != nil {
			b.Fatal(err)
		}
		var ns []string
		for n := range 100 {
			ns = append(ns, fmt.Sprintf("team-%03d", n))
		}
		if err := f.st.Heartbeat(ctx, "prod", cluster, store.Heartbeat{AgentVersion: "bench", KubernetesVersion: "v1.35.4", Namespaces: ns}); err != nil {
			b.Fatal(err)
		}
		for i := range 100 {
			_, err := f.st.CreateInstance(ctx, "prod", instanceSpec(b, vaultv1.InstanceSpec{Name: fmt.Sprintf("%s-team-%03d", cluster, i), Cluster: cluster, Policy: fmt.Sprintf("p%03d", i),
				Backup: vaultv1.BackupConfig{IncludeNamespaces: []string{fmt.Sprintf("team-%03d", i)}}, Storage: vaultv1.StorageLocation{URL: "file:///b", PassphraseSecret: "p"}}))
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := range 5000 {
		_, err := f.jobs().Queue(ctx, "prod", jobs.NewJob{Kind: agentv1.KindRestore, Cluster: fmt.Sprintf("c%02d", i%50), RecoveryPoint: f.point,
			Trigger: "user", CreatedBy: "bench", Spec: agentv1.JobSpec{Restore: &agentv1.RestoreJob{Name: fmt.Sprintf("r%d", i), RecoveryPoint: f.point}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	br := f.signedIn(b, access.RoleReader)
	for _, page := range []string{"/", "/instances", "/jobs", "/jobs?state=queued&cluster=c07", "/instances/c07-team-042", "/clusters/c07"} {
		b.Run(page, func(b *testing.B) {
			br.t = b
			for b.Loop() {
				if res, _ := br.get(page); res.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %d", page, res.StatusCode)
				}
			}
		})
	}
}
