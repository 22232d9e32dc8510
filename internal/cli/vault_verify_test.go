package cli

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
)

func TestPolicyVerifyFlags(t *testing.T) {
	v := startTestVault(t)
	out := v.ok(t, "policy", "create", "checked", "--daily-at", "02:30", "--retain", "7d", "--verify-structure", "7d", "--verify-data", "30d")
	if !strings.Contains(out, `created policy "checked"`) {
		t.Errorf("create:\n%s", out)
	}
	v.ok(t, "policy", "create", "plain", "--every-hours", "4", "--retain", "7d")
	var p policy.Policy
	v.jsonOut(t, &p, "policy", "show", "checked")
	if p.Verify == nil || *p.Verify != (policy.VerifySchedule{Structure: policy.Duration(7 * 24 * time.Hour), Data: policy.Duration(30 * 24 * time.Hour)}) {
		t.Errorf("show -o json: verify %+v", p.Verify)
	}
	if out := v.ok(t, "policy", "show", "checked"); !strings.Contains(out, "verify:    structure every 1w, data every 30d") {
		t.Errorf("show:\n%s", out)
	}
	if out := v.ok(t, "policy", "show", "plain"); !strings.Contains(out, "verify:    none") {
		t.Errorf("show without verify:\n%s", out)
	}
	out = v.ok(t, "policy", "list")
	if !regexpLine(out, `NAME\s+SCHEDULE\s+RETENTION\s+COPIES\s+VERIFY`) || !regexpLine(out, `checked\s+daily at 02:30\s+keep 1w\s+-\s+structure every 1w, data every 30d`) ||
		!regexpLine(out, `plain\s+every 4h\s+keep 1w\s+-\s+-`) {
		t.Errorf("list:\n%s", out)
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--verify-structure", "30d", "--verify-data", "7d"}, "verify.structure 30d is not shorter than verify.data 1w"},
		{[]string{"--verify-data", "10m"}, "verify.data 10m: at least 1h"},
		{[]string{"--verify-structure", "weekly"}, `--verify-structure: duration "weekly"`},
	} {
		v.fails(t, tc.want, append([]string{"policy", "create", "bad", "--every-hours", "4", "--retain", "7d"}, tc.flags...)...)
	}
}

// TestRecoveryPointVerify verifies a recovery point through the vault while a fake agent runs the
// jobs: --wait follows the job and prints what it checked; recovery-point show prints the
// outcome; a failed verification makes --wait exit non-zero.
func TestRecoveryPointVerify(t *testing.T) {
	v := startTestVault(t)
	agent := v.protect(t, "prod", "shop")
	done := v.runAsync(t, "instance", "backup-now", "shop")
	j, err := agent.runBackup(vaultv1.JobSucceeded, "")
	if err != nil {
		t.Fatal(err)
	}
	if r := await(t, done); r.err != nil {
		t.Fatalf("backup-now: %v\n%s", r.err, r.stderr)
	}
	rp := j.Spec.Backup.RecoveryPoint
	if out := v.ok(t, "recovery-point", "show", rp); !strings.Contains(out, "verified:    never") {
		t.Errorf("show before any verification:\n%s", out)
	}

	// runVerify claims the next job, which must verify rp at level, and completes it.
	runVerify := func(level string, c agentv1.Completion) vaultv1.Job {
		t.Helper()
		j, err := agent.claim()
		if err != nil {
			t.Fatal(err)
		}
		if j.Kind != agentv1.KindVerify || j.Spec.Verify == nil || j.Spec.Verify.RecoveryPoint != rp || j.Spec.Verify.Level != level ||
			j.Trigger != "on-demand" || j.CreatedBy != "admin" {
			t.Fatalf("claimed %+v (spec %+v), want the %s verification of %s", j, j.Spec.Verify, level, rp)
		}
		if err := agent.complete(j.ID, c); err != nil {
			t.Fatal(err)
		}
		return j
	}

	done = v.runAsync(t, "recovery-point", "verify", rp, "--level", "structure", "--wait", "--poll-interval", "20ms")
	vj := runVerify(agentv1.VerifyStructure, agentv1.Completion{State: agentv1.JobSucceeded,
		Result: &agentv1.JobResult{Verify: &agentv1.VerifyResult{Level: agentv1.VerifyStructure, Files: 2, Sections: 1}}})
	r := await(t, done)
	if r.err != nil {
		t.Fatalf("verify --wait: %v\n%s\n%s", r.err, r.stdout, r.stderr)
	}
	for _, w := range []string{fmt.Sprintf("job %d: verify succeeded", vj.ID), "verifies:   recovery point " + rp + " (structure)",
		"verified:   structure: 2 files, 1 sections; 0 problem(s)"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("verify --wait stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("verify job %d queued", vj.ID)) {
		t.Errorf("verify --wait stderr:\n%s", r.stderr)
	}
	if out := v.ok(t, "recovery-point", "show", rp); !regexpLine(out, fmt.Sprintf(`\s+verified:\s+structure, passed \S+ \(on-demand, job %d\)$`, vj.ID)) {
		t.Errorf("show after a structure verification:\n%s", out)
	}

	// Without --wait: the job is queued; the default level is data.
	out := v.ok(t, "recovery-point", "verify", rp)
	vj = runVerify(agentv1.VerifyData, agentv1.Completion{State: agentv1.JobFailed, Error: "damaged",
		Result: &agentv1.JobResult{Errors: []string{"backups/x/packs/1: checksum mismatch"}, Verify: &agentv1.VerifyResult{Level: agentv1.VerifyData, Problems: 1}}})
	if want := fmt.Sprintf("queued verify job %d of recovery point %q (data); follow it: cairn job logs %d --follow", vj.ID, rp, vj.ID); !strings.Contains(out, want) {
		t.Errorf("verify:\n%s\nwant %q", out, want)
	}
	if out := v.ok(t, "recovery-point", "show", rp); !strings.Contains(out, fmt.Sprintf("(on-demand, job %d): 1 problem(s), the first: backups/x/packs/1: checksum mismatch", vj.ID)) ||
		!strings.Contains(out, "verified:    data, failed") {
		t.Errorf("show after a failed verification:\n%s", out)
	}
	var shown vaultv1.RecoveryPoint
	v.jsonOut(t, &shown, "recovery-point", "show", rp)
	if shown.Verification == nil || shown.Verification.State != vaultv1.VerificationFailed || shown.Verification.Job != vj.ID {
		t.Errorf("show -o json: %+v", shown.Verification)
	}

	// --wait on a verification that fails exits non-zero; -o json prints the queued job.
	done = v.runAsync(t, "recovery-point", "verify", rp, "--wait", "--poll-interval", "20ms")
	runVerify(agentv1.VerifyData, agentv1.Completion{State: agentv1.JobFailed, Error: `recovery point is damaged: 1 problem(s)`})
	if r := await(t, done); r.err == nil || !strings.Contains(r.err.Error(), "recovery point is damaged") {
		t.Errorf("verify --wait of a damaged point: %v\n%s", r.err, r.stdout)
	}
	var queued vaultv1.Job
	v.jsonOut(t, &queued, "recovery-point", "verify", rp, "--level", "structure")
	if queued.Kind != agentv1.KindVerify || queued.State != vaultv1.JobQueued || queued.Spec.Verify == nil || queued.Spec.Verify.Level != agentv1.VerifyStructure {
		t.Errorf("verify -o json: %+v", queued)
	}
	v.fails(t, "409", "recovery-point", "verify", rp)
	v.fails(t, "404", "recovery-point", "verify", "nope")
	v.fails(t, `--level "sample": use data or structure`, "recovery-point", "verify", rp, "--level", "sample")
}
