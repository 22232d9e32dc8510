//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/files"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/restore"
	"github.com/cairnbackup/cairn/internal/snapshot"
	"github.com/cairnbackup/cairn/internal/trustgrant"
	"github.com/cairnbackup/cairn/internal/usecase"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// TestVaultCopyTier runs a policy with both tiers through the vault and a real agent over a
// moved clock: hourly backups, every second one copied; snapshots kept 1 hour, copies 3. Each
// hour retention deletes what it should from each tier (a point without a copy goes whole; a
// copied point first loses its snapshot, then goes whole with its copy), in the cluster (the
// snapshot contents) and in the repository (the backup, the copy's file snapshot); a point whose
// snapshot expired restores from its copy.
func TestVaultCopyTier(t *testing.T) {
	ctx := t.Context()
	client := clientOf(t, cluster)
	dyn := dynamicOf(t)
	image := agentImageIn(t, cluster)
	ensureNamespace(ctx, t, client, trustgrant.DefaultNamespace)
	const ns = "tier-app"
	sum := deployWriter(ctx, t, ns)

	v := startVault(t, "")
	v.register(t, "source", restConfigOf(t, cluster), secretsDir(t), func(o *agent.Options) {
		o.Mover.Image = image
		o.Now = v.clock.now // recovery points are timed by the agent: on the vault's moved clock
	})
	hour := policy.Duration(time.Hour)
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "tiered", Schedule: policy.Schedule{EveryHours: 1},
		Retention: policy.Retention{Default: hour}, Copy: &policy.CopyTier{Every: 2, Retention: policy.Retention{Default: 3 * hour}}}); err != nil {
		t.Fatal(err)
	}
	storage := "file://" + t.TempDir()
	if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: "tier", Cluster: "source", Policy: "tiered",
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}, SnapshotVolumes: true},
		Storage: vaultv1.StorageLocation{URL: storage, PassphraseSecret: agentSecret}}); err != nil {
		t.Fatal(err)
	}

	first := v.clock.now().UTC().Truncate(time.Hour).Add(time.Hour)
	rp := func(i int) string {
		return fmt.Sprintf("tier-%s", first.Add(time.Duration(i)*time.Hour).Format("20060102150405"))
	}
	// live: the points left after hour i's backup and retention.
	live := [][]int{{0}, {0, 1}, {0, 2}, {2, 3}, {2, 4}}
	start := time.Now()
	for i, want := range live {
		v.clock.advanceTo(first.Add(time.Duration(i)*time.Hour + 30*time.Second))
		t.Cleanup(func() { // on failure, what the vault did
			if t.Failed() && i == 0 {
				logJobs(t, v, "tier")
			}
		})
		waitFor(t, 4*time.Minute, fmt.Sprintf("the recovery points of hour %d", i), func() bool {
			rps := v.waitRecoveryPoints(t, "tier", len(want))
			for _, j := range want {
				if p, ok := rps[rp(j)]; !ok || p.Phase != archive.PhaseCompleted {
					return false
				}
			}
			return true
		})
		t.Logf("hour %d: recovery points %v after %s", i, want, time.Since(start).Round(time.Second))
	}

	rps := v.recoveryPoints(t, "tier")
	tiers := func(name string) vaultv1.VolumeTiers {
		t.Helper()
		p := rps[name]
		if len(p.VolumeTiers) != 1 {
			t.Fatalf("%s: volume tiers %+v", name, p.VolumeTiers)
		}
		return p.VolumeTiers[0]
	}
	if tr := tiers(rp(2)); tr.Snapshot || !tr.Copy {
		t.Errorf("%s (2 hours old, copied): tiers %+v, want the copy alone", rp(2), tr)
	}
	if tr := tiers(rp(4)); !tr.Snapshot || !tr.Copy {
		t.Errorf("%s (new, copied): tiers %+v, want both", rp(4), tr)
	}
	for i := range 5 {
		contents, err := dyn.Resource(snapshot.ContentResource).List(ctx, metav1.ListOptions{LabelSelector: snapshot.LabelRecoveryPoint + "=" + rp(i)})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[i == 4]; len(contents.Items) != want {
			t.Errorf("%s: %d snapshot contents in the cluster, want %d", rp(i), len(contents.Items), want)
		}
	}
	inRepo := repositoryBackups(t, storage)
	for i, kept := range []bool{false, false, true, false, true} {
		if inRepo[rp(i)] != kept {
			t.Errorf("repository holds %s: %v, want %v (all: %v)", rp(i), inRepo[rp(i)], kept, inRepo)
		}
	}
	copies := copiesByRecoveryPoint(t, storage)
	if len(copies) != 2 || copies[rp(2)] != 1 || copies[rp(4)] != 1 {
		t.Errorf("file snapshots by recovery point %v, want one each of %s and %s (%s's forgotten)", copies, rp(2), rp(4), rp(0))
	}

	// The point whose snapshot expired comes back from its copy.
	job, err := v.admin.Restore(ctx, vaultv1.RestoreRequest{RecoveryPoint: rp(2),
		Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{ns: ns + "-back"}}})
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, job.ID, 3*time.Minute); j.State != vaultv1.JobSucceeded || j.Result == nil || j.Result.Restore == nil {
		t.Fatalf("restore of %s: %+v", rp(2), j)
	}
	if got := checksumIn(ctx, t, cluster, ns+"-back"); got != sum {
		t.Fatalf("checksum restored from %s's copy %q, want %q", rp(2), got, sum)
	}
	j, err := v.admin.GetJob(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if res := describeRestore(t, storage, j.Result.Restore.Name); len(res.Volumes) != 1 || res.Volumes[0].Source != restore.SourceCopy {
		t.Errorf("restore volumes %+v, want one from the copy", res.Volumes)
	}
	assertNoMoverLeftovers(ctx, t, client)
	deleteNamespace(ctx, t, client, ns+"-back")
	deleteNamespace(ctx, t, client, ns)
}

// copiesByRecoveryPoint counts the file snapshots in the repository by their recovery-point tag.
func copiesByRecoveryPoint(t *testing.T, storage string) map[string]int {
	t.Helper()
	repo, err := usecase.OpenRepository(t.Context(), usecase.Location{URL: storage}, archive.Credential{Passphrase: []byte(passphrase)}, usecase.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := files.Open(repo, files.Options{})
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := st.Snapshots(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, s := range snaps {
		out[s.Tags["recovery-point"]]++
	}
	return out
}

// logJobs logs the instance's jobs and recovery points, for a failure's reader (the test's own
// context is over by then).
func logJobs(t *testing.T, v *testVault, instance string) {
	ctx := context.Background()
	jobs, err := v.admin.ListJobs(ctx, client.JobFilter{Instance: instance})
	if err != nil {
		t.Logf("jobs of %s: %v", instance, err)
		return
	}
	for _, j := range jobs.Items {
		var point string
		switch {
		case j.Spec.Backup != nil:
			point = j.Spec.Backup.RecoveryPoint
		case j.Spec.Delete != nil:
			point = j.Spec.Delete.RecoveryPoint
		}
		took := "-"
		if j.StartedAt != nil && j.FinishedAt != nil {
			took = j.FinishedAt.Sub(*j.StartedAt).Round(time.Millisecond).String()
		}
		t.Logf("job %d %s %s %s %s, created %s, ran %s: %s", j.ID, j.Kind, point, j.State, j.Trigger, j.CreatedAt.Format(time.TimeOnly), took, j.Error)
	}
	rps, err := v.admin.ListRecoveryPoints(ctx, client.RecoveryPointFilter{Instance: instance})
	if err != nil {
		t.Logf("recovery points of %s: %v", instance, err)
		return
	}
	for _, rp := range rps.Items {
		t.Logf("recovery point %s %s at %s, tiers %+v", rp.Name, rp.Phase, rp.Time.Format(time.TimeOnly), rp.VolumeTiers)
	}
	t.Logf("vault clock: %s", v.clock.now().Format(time.TimeOnly))
}
