//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/archive"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// TestVaultScheduledVerification runs a policy's verification schedule through the vault and a
// real agent over a moved clock (docs/design/monitoring.md, "Verification"): backups every 12
// hours, the structure verified every day and the data every two. The scheduled structure and
// data verifications of the newest good recovery point run and report passed; after a pack of
// the newest point is cut short in the filesystem repository, the next scheduled verification of
// it, and an on-demand data one, report failed with the problem, while an intact older point
// verified on demand passes.
func TestVaultScheduledVerification(t *testing.T) {
	ctx := t.Context()
	const ns = "verify-app"
	src := clientOf(t, cluster)
	createNamespace(ctx, t, src, ns)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: ns}, Data: map[string]string{"greeting": "hello"}}
	if _, err := src.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	v := startVault(t, "")
	v.register(t, "source", restConfigOf(t, cluster), secretsDir(t), func(o *agent.Options) {
		o.Now = v.clock.now // recovery points are timed by the agent: on the vault's moved clock
	})
	day := policy.Duration(24 * time.Hour)
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "checked", Schedule: policy.Schedule{EveryHours: 12},
		Retention: policy.Retention{Default: 7 * day}, Verify: &policy.VerifySchedule{Structure: day, Data: 2 * day}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: "checked", Cluster: "source", Policy: "checked",
		Backup:  vaultv1.BackupConfig{IncludeNamespaces: []string{ns}},
		Storage: vaultv1.StorageLocation{URL: "file://" + dir, PassphraseSecret: agentSecret}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logJobs(t, v, "checked")
		}
	})
	t0 := in.CreatedAt

	// The first backup, at the next 12-hour boundary; no verification is due yet.
	first := t0.UTC().Truncate(12 * time.Hour).Add(12 * time.Hour)
	v.clock.advanceTo(first.Add(30 * time.Second))
	v.waitRecoveryPoints(t, "checked", 1)
	if vs := verifyJobs(t, v); len(vs) != 0 {
		t.Fatalf("verifications before the first is due: %+v", vs)
	}

	// A day after the instance was made: the structure of the newest good point.
	v.clock.advanceTo(t0.Add(24*time.Hour + time.Minute))
	structure := v.waitVerification(t, 1)
	checkScheduledVerification(t, v, structure, agentv1.VerifyStructure, vaultv1.VerificationPassed)

	// Two days after: the data.
	v.clock.advanceTo(t0.Add(48*time.Hour + 2*time.Minute))
	data := v.waitVerification(t, 2)
	checkScheduledVerification(t, v, data, agentv1.VerifyData, vaultv1.VerificationPassed)
	if data.Result.Verify.Items == 0 {
		t.Errorf("the data verification read no item: %+v", data.Result.Verify)
	}

	// A pack of the newest good point cut short in the repository; the next structure
	// verification (a day after the data one) is of that point, and fails. The backups due
	// before it run first, so the point damaged is the newest when the verification is queued
	// (the scheduler queues it after the tick's backups, but a backup may end before or after).
	due := data.CreatedAt.Add(24 * time.Hour)
	before := len(v.settled(t, "checked"))
	v.clock.advanceTo(due.Truncate(12 * time.Hour).Add(time.Second))
	rps := v.waitRecoveryPoints(t, "checked", before+1)
	if vs := verifyJobs(t, v); len(vs) != 2 {
		t.Fatalf("%d verifications before the third is due, want 2", len(vs))
	}
	var newest, oldest vaultv1.RecoveryPoint
	for _, rp := range rps {
		if rp.Phase != archive.PhaseCompleted {
			continue
		}
		if newest.Name == "" || rp.Time.After(newest.Time) {
			newest = rp
		}
		if oldest.Name == "" || rp.Time.Before(oldest.Time) {
			oldest = rp
		}
	}
	if newest.Name == "" || newest.Name == oldest.Name {
		t.Fatalf("recovery points %v: want two good ones", names(rps))
	}
	packs, err := filepath.Glob(filepath.Join(dir, "backups", newest.Name, "packs", "*"))
	if err != nil || len(packs) == 0 {
		t.Fatalf("packs of %s: %v %v", newest.Name, packs, err)
	}
	whole, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(packs[0], whole[:len(whole)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	v.clock.advanceTo(due.Add(time.Minute))
	damaged := v.waitVerification(t, 3)
	if damaged.Spec.Verify.RecoveryPoint != newest.Name {
		t.Fatalf("the third verification is of %s, want the damaged %s", damaged.Spec.Verify.RecoveryPoint, newest.Name)
	}
	checkScheduledVerification(t, v, damaged, agentv1.VerifyStructure, vaultv1.VerificationFailed)
	if !strings.Contains(damaged.Error, "is damaged: 1 problem(s)") || damaged.Result.Verify.Problems != 1 ||
		!strings.Contains(damaged.Result.Errors[0], fmt.Sprintf("holds %d bytes, the manifest says %d", len(whole)/2, len(whole))) {
		t.Errorf("the damaged point's verification: %s; %+v", damaged.Error, damaged.Result)
	}

	// On demand: the damaged point's data fails too; the oldest point's passes.
	for _, c := range []struct {
		rp    vaultv1.RecoveryPoint
		state string
	}{{newest, vaultv1.VerificationFailed}, {oldest, vaultv1.VerificationPassed}} {
		j, err := v.admin.VerifyRecoveryPoint(ctx, c.rp.Name, vaultv1.VerifyRequest{})
		if err != nil {
			t.Fatal(err)
		}
		j = v.waitJob(t, j.ID, 2*time.Minute)
		rp, err := v.admin.GetRecoveryPoint(ctx, c.rp.Name)
		if err != nil {
			t.Fatal(err)
		}
		if ver := rp.Verification; ver == nil || ver.Job != j.ID || ver.Level != vaultv1.VerifyData || ver.State != c.state || ver.Trigger != "on-demand" {
			t.Errorf("%s after an on-demand data verification: %+v, want %s", c.rp.Name, rp.Verification, c.state)
		}
	}
	deleteNamespace(ctx, t, src, ns)
}

// settled waits until the instance has no job queued or running and returns its recovery points.
func (v *testVault) settled(t *testing.T, instance string) map[string]vaultv1.RecoveryPoint {
	t.Helper()
	waitFor(t, 2*time.Minute, "the jobs of "+instance+" to end", func() bool {
		for _, state := range []string{vaultv1.JobQueued, vaultv1.JobRunning} {
			jobs, err := v.admin.ListJobs(t.Context(), client.JobFilter{Instance: instance, State: state})
			if err != nil || len(jobs.Items) > 0 {
				return false
			}
		}
		return true
	})
	return v.recoveryPoints(t, instance)
}

// verifyJobs lists the verify jobs of instance "checked", newest first.
func verifyJobs(t *testing.T, v *testVault) []vaultv1.Job {
	t.Helper()
	list, err := v.admin.ListJobs(t.Context(), client.JobFilter{Instance: "checked", Kind: agentv1.KindVerify})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// waitVerification waits until instance "checked" has n verify jobs and the newest ended, and
// returns it.
func (v *testVault) waitVerification(t *testing.T, n int) vaultv1.Job {
	t.Helper()
	var j vaultv1.Job
	waitFor(t, 3*time.Minute, fmt.Sprintf("verification %d", n), func() bool {
		vs := verifyJobs(t, v)
		if len(vs) < n {
			return false
		}
		if len(vs) > n {
			t.Fatalf("%d verifications, want %d: %+v", len(vs), n, vs)
		}
		j = vs[0]
		return j.State != vaultv1.JobQueued && j.State != vaultv1.JobRunning
	})
	return j
}

// checkScheduledVerification checks a scheduled verify job that ended, at level, and that its
// recovery point reports it in state.
func checkScheduledVerification(t *testing.T, v *testVault, j vaultv1.Job, level, state string) {
	t.Helper()
	if j.Trigger != "scheduled" || j.CreatedBy != "scheduler" || j.Spec.Verify == nil || j.Spec.Verify.Level != level ||
		j.Result == nil || j.Result.Verify == nil || j.Result.Verify.Level != level || j.Result.Verify.Files == 0 {
		t.Fatalf("verify job %d: %+v (spec %+v, result %+v), want a scheduled %s verification", j.ID, j, j.Spec.Verify, j.Result, level)
	}
	rp, err := v.admin.GetRecoveryPoint(t.Context(), j.Spec.Verify.RecoveryPoint)
	if err != nil {
		t.Fatal(err)
	}
	ver := rp.Verification
	if ver == nil || ver.Job != j.ID || ver.Level != level || ver.State != state || ver.Trigger != "scheduled" {
		t.Fatalf("%s's verification %+v, want job %d, %s, %s", rp.Name, ver, j.ID, level, state)
	}
	if state == vaultv1.VerificationFailed && (ver.Problems == 0 || ver.FirstProblem == "") {
		t.Errorf("a failed verification without its problem: %+v", ver)
	}
}
