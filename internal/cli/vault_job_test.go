package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/agentv1"
	"github.com/cairnbackup/cairn/api/vaultv1"
)

// TestBackupNowWait follows an on-demand backup to its end while a fake agent runs it: the log
// lines and the result are printed, and the recovery point shows up.
func TestBackupNowWait(t *testing.T) {
	v := startTestVault(t)
	agent := v.protect(t, "prod", "shop")

	done := v.runAsync(t, "instance", "backup-now", "shop", "--retain", "30d", "--wait", "--poll-interval", "20ms")
	j, err := agent.runBackup(vaultv1.JobSucceeded, "")
	if err != nil {
		t.Fatal(err)
	}
	r := await(t, done)
	if r.err != nil {
		t.Fatalf("backup-now --wait: %v\n%s\n%s", r.err, r.stdout, r.stderr)
	}
	rpName := j.Spec.Backup.RecoveryPoint
	if !strings.HasPrefix(rpName, "shop-") || !j.Spec.Backup.OnDemand || j.Spec.Backup.ExpiresAt == nil {
		t.Errorf("job spec: %+v", j.Spec.Backup)
	}
	for _, w := range []string{fmt.Sprintf("backup job %d queued", j.ID), "backing up namespace shop", "backup finished: succeeded"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
	for _, w := range []string{fmt.Sprintf("job %d: backup succeeded", j.ID), "recovery point " + rpName + ": Completed", "42 in 1 namespaces",
		"1.0 MiB raw, 300.0 KiB stored", "1 snapshotted (1.0 GiB)"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
		}
	}

	// The recovery point.
	out := v.ok(t, "recovery-point", "list")
	if !regexpLine(out, `NAME\s+INSTANCE\s+CLUSTER\s+TIME\s+PHASE`) || !regexpLine(out, rpName+`\s+shop\s+prod\s+\S+\s+Completed\s+42\s+300\.0 KiB\s+1\s+snapshot\s+\d{4}-`) {
		t.Errorf("recovery-point list:\n%s", out)
	}
	var rps []vaultv1.RecoveryPoint
	v.jsonOut(t, &rps, "recovery-point", "list", "--instance", "shop", "--cluster", "prod", "--limit", "5")
	if len(rps) != 1 || rps[0].Name != rpName || rps[0].Job != j.ID || !rps[0].OnDemand || rps[0].ExpiresAt == nil {
		t.Errorf("recovery-point list -o json: %+v", rps)
	}
	v.jsonOut(t, &rps, "recovery-point", "list", "--instance", "other")
	if len(rps) != 0 {
		t.Errorf("recovery-point list --instance other: %+v", rps)
	}
	out = v.ok(t, "recovery-point", "show", rpName)
	for _, w := range []string{`recovery point "` + rpName + `": Completed`, "on demand", "(shop)", "restore it: cairn restore create --from " + rpName} {
		if !strings.Contains(out, w) {
			t.Errorf("recovery-point show lacks %q:\n%s", w, out)
		}
	}
	v.ok(t, "recovery-point", "show", rpName, "-o", "yaml")
	v.fails(t, "404", "recovery-point", "show", "nope")
	out = v.ok(t, "instance", "show", "shop")
	if !strings.Contains(out, "latest recovery points:") || !strings.Contains(out, rpName) {
		t.Errorf("instance show:\n%s", out)
	}

	// The job.
	out = v.ok(t, "job", "list")
	if !regexpLine(out, `ID\s+KIND\s+INSTANCE`) || !regexpLine(out, fmt.Sprintf(`%d\s+backup\s+shop\s+prod\s+succeeded\s+on-demand`, j.ID)) {
		t.Errorf("job list:\n%s", out)
	}
	var jobs []vaultv1.Job
	v.jsonOut(t, &jobs, "job", "list", "--state", "succeeded", "--kind", "backup", "--instance", "shop", "--cluster", "prod")
	if len(jobs) != 1 || jobs[0].ID != j.ID {
		t.Errorf("job list -o json: %+v", jobs)
	}
	v.jsonOut(t, &jobs, "job", "list", "--state", "failed")
	if len(jobs) != 0 {
		t.Errorf("job list --state failed: %+v", jobs)
	}
	id := fmt.Sprint(j.ID)
	out = v.ok(t, "job", "show", id)
	for _, w := range []string{fmt.Sprintf("job %d: backup succeeded", j.ID), "makes:      recovery point " + rpName, "on-demand by admin", "42 in 1 namespaces"} {
		if !strings.Contains(out, w) {
			t.Errorf("job show lacks %q:\n%s", w, out)
		}
	}
	var shown vaultv1.Job
	v.jsonOut(t, &shown, "job", "show", id)
	if shown.State != vaultv1.JobSucceeded || shown.Result == nil || shown.Result.RecoveryPoint == nil {
		t.Errorf("job show -o json: %+v", shown)
	}
	out = v.ok(t, "job", "logs", id)
	if !strings.Contains(out, "info  backing up namespace shop") || !strings.Contains(out, "backup finished: succeeded") {
		t.Errorf("job logs:\n%s", out)
	}
	out = v.ok(t, "job", "logs", id, "-o", "json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var first vaultv1.LogLine
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.Seq != 1 || len(lines) < 2 {
		t.Errorf("job logs -o json: %v\n%s", err, out)
	}
	if out := v.ok(t, "job", "logs", id, "-o", "yaml"); !strings.HasPrefix(out, "---\n") || !strings.Contains(out, "message: backing up namespace shop") {
		t.Errorf("job logs -o yaml:\n%s", out)
	}
	// --follow of an ended job prints its log and ends at once.
	if out := v.ok(t, "job", "logs", id, "--follow"); !strings.Contains(out, "backup finished: succeeded") {
		t.Errorf("job logs --follow:\n%s", out)
	}
	v.fails(t, "409", "job", "cancel", id)
	v.fails(t, "404", "job", "show", "999999")
}

// TestBackupNowWaitFails: a job that fails makes --wait exit non-zero with the job's error; -o
// json still prints the job.
func TestBackupNowWaitFails(t *testing.T) {
	v := startTestVault(t)
	agent := v.protect(t, "prod", "shop")
	done := v.runAsync(t, "instance", "backup-now", "shop", "--wait", "--poll-interval", "20ms", "-o", "json")
	j, err := agent.runBackup(vaultv1.JobFailed, "storage unreachable: connection refused")
	if err != nil {
		t.Fatal(err)
	}
	r := await(t, done)
	if r.err == nil || !strings.Contains(r.err.Error(), fmt.Sprintf("backup job %d failed: storage unreachable: connection refused", j.ID)) {
		t.Fatalf("backup-now --wait of a failing job: %v\n%s", r.err, r.stderr)
	}
	var printed vaultv1.Job
	if err := json.Unmarshal([]byte(r.stdout), &printed); err != nil || printed.State != vaultv1.JobFailed {
		t.Errorf("-o json: %v\n%s", err, r.stdout)
	}
	if !strings.Contains(r.stderr, "backup finished: failed") {
		t.Errorf("stderr:\n%s", r.stderr)
	}

	// A partially failed job fails --wait too; its result still names the recovery point.
	done = v.runAsync(t, "instance", "backup-now", "shop", "--wait", "--poll-interval", "20ms")
	if j, err = agent.runBackup(vaultv1.JobPartiallyFailed, "1 volume could not be snapshotted"); err != nil {
		t.Fatal(err)
	}
	r = await(t, done)
	if r.err == nil || !strings.Contains(r.err.Error(), "partially-failed: 1 volume could not be snapshotted") ||
		!strings.Contains(r.stdout, "recovery point "+j.Spec.Backup.RecoveryPoint) {
		t.Fatalf("partially failed: %v\n%s", r.err, r.stdout)
	}
}

// TestJobCancel cancels a queued job at once, and a running one through its agent's next report;
// job logs --follow ends with the job and fails for a cancelled one.
func TestJobCancel(t *testing.T) {
	v := startTestVault(t)
	agent := v.protect(t, "prod", "shop")
	var queued vaultv1.Job
	v.jsonOut(t, &queued, "instance", "backup-now", "shop")
	if queued.State != vaultv1.JobQueued || queued.Kind != agentv1.KindBackup {
		t.Fatalf("backup-now: %+v", queued)
	}
	out := v.ok(t, "job", "cancel", fmt.Sprint(queued.ID))
	if !strings.Contains(out, fmt.Sprintf("cancelled backup job %d", queued.ID)) {
		t.Errorf("cancel a queued job:\n%s", out)
	}

	out = v.ok(t, "instance", "backup-now", "shop")
	if !strings.Contains(out, "queued backup job") || !strings.Contains(out, "cairn job logs") {
		t.Errorf("backup-now:\n%s", out)
	}
	j, err := agent.claim()
	if err != nil {
		t.Fatal(err)
	}
	follow := v.runAsync(t, "job", "logs", fmt.Sprint(j.ID), "--follow", "--poll-interval", "20ms")
	out = v.ok(t, "job", "cancel", fmt.Sprint(j.ID))
	if !strings.Contains(out, "asked the agent to cancel") {
		t.Errorf("cancel a running job:\n%s", out)
	}
	var shown vaultv1.Job
	v.jsonOut(t, &shown, "job", "show", fmt.Sprint(j.ID))
	if !shown.CancelRequested || shown.State != vaultv1.JobRunning {
		t.Errorf("after cancel: %+v", shown)
	}
	if out := v.ok(t, "job", "list", "--state", "running"); !strings.Contains(out, "running (cancelling)") {
		t.Errorf("job list:\n%s", out)
	}
	reply, err := agent.progress(j.ID, agentv1.ProgressReport{Logs: []agentv1.LogLine{{Time: time.Now(), Level: "warn", Message: "stopping"}}})
	if err != nil || !reply.Cancel {
		t.Fatalf("progress after cancel: %+v %v", reply, err)
	}
	if err := agent.complete(j.ID, agentv1.Completion{State: agentv1.JobCancelled, Error: "cancelled by admin"}); err != nil {
		t.Fatal(err)
	}
	r := await(t, follow)
	if r.err == nil || !strings.Contains(r.err.Error(), "cancelled") || !strings.Contains(r.stdout, "warn  stopping") {
		t.Errorf("logs --follow: %v\n%s", r.err, r.stdout)
	}
}

func TestJobFlagErrors(t *testing.T) {
	v := &testVault{home: t.TempDir()}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"job", "list", "--state", "done"}, `--state "done": use queued, running, succeeded, partially-failed, failed or cancelled`},
		{[]string{"job", "list", "--kind", "snapshot"}, `--kind "snapshot": use backup, restore, retention-delete, `},
		{[]string{"job", "list", "--limit", "0"}, "--limit 0"},
		{[]string{"job", "show", "abc"}, `job ID "abc": use the number cairn job list shows`},
		{[]string{"job", "logs", "-3"}, "unknown shorthand flag"},
		{[]string{"job", "logs", "0"}, `job ID "0"`},
		{[]string{"job", "cancel", "x"}, `job ID "x"`},
		{[]string{"job", "logs", "1", "--follow", "--poll-interval", "0s"}, "--poll-interval 0s"},
		{[]string{"recovery-point", "list", "--limit", "-1"}, "--limit -1"},
		{[]string{"recovery-point", "list"}, "not logged in"},
		{[]string{"usage", "-o", "csv"}, `unknown output format "csv"`},
		{[]string{"audit", "list", "--limit", "0"}, "--limit 0"},
	} {
		v.fails(t, tc.want, tc.args...)
	}
}

func TestUsageAndAudit(t *testing.T) {
	v := startTestVault(t)
	agent := v.protect(t, "prod", "shop")
	done := v.runAsync(t, "instance", "backup-now", "shop", "--wait", "--poll-interval", "20ms")
	if _, err := agent.runBackup(vaultv1.JobSucceeded, ""); err != nil {
		t.Fatal(err)
	}
	if r := await(t, done); r.err != nil {
		t.Fatal(r.err)
	}
	out := v.ok(t, "usage")
	if !regexpLine(out, `INSTANCE\s+CLUSTER\s+NAMESPACES\s+RECOVERY POINTS\s+STORED\s+SNAPSHOTS\s+COPIES\s+MONTHLY COST \(EUR\)`) ||
		!regexpLine(out, `shop\s+prod\s+1\s+1\s+300\.0 KiB\s+1\.0 GiB\s+0 B\s+2\.25`) || !regexpLine(out, `TOTAL\s+1\s+1\s+300\.0 KiB\s+1\.0 GiB\s+0 B\s+2\.25`) ||
		!strings.Contains(out, "prices (EUR per month): 2.00 per protected namespace") {
		t.Errorf("usage:\n%s", out)
	}
	var u vaultv1.Usage
	v.jsonOut(t, &u, "usage")
	if u.Prices.Currency != "EUR" || len(u.Instances) != 1 || u.Total.MonthlyCost != 2.25 {
		t.Errorf("usage -o json: %+v", u)
	}

	out = v.ok(t, "audit", "list")
	if !regexpLine(out, `TIME\s+PRINCIPAL\s+ROLE\s+OPERATION`) || !strings.Contains(out, "POST /api/v1/instances/{name}/backup") ||
		!strings.Contains(out, "POST /api/v1/clusters") {
		t.Errorf("audit list:\n%s", out)
	}
	var entries []vaultv1.AuditEntry
	v.jsonOut(t, &entries, "audit", "list", "--limit", "2")
	if len(entries) != 2 || entries[0].ID <= entries[1].ID {
		t.Errorf("audit list --limit 2 (newest first): %+v", entries)
	}
}
