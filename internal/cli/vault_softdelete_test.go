package cli

import (
	"testing"
)

// TestDeleteAndUndeleteRecoveryPoints: a deleted point is listed with --deleted and shown as
// deleted; undelete brings it back; a policy's lock is shown.
func TestDeleteAndUndeleteRecoveryPoints(t *testing.T) {
	v := startTestVault(t)
	v.ok(t, "policy", "create", "ledger", "--every-hours", "4", "--retain", "7d", "--lock-for", "2d")
	if out := v.ok(t, "policy", "show", "ledger"); !regexpLine(out, `  lock:\s+each recovery point immutable in storage for 2d after its backup`) {
		t.Errorf("policy show:\n%s", out)
	}
	v.fails(t, "lockFor 8d is longer than retention.default", "policy", "create", "loose", "--every-hours", "4", "--retain", "7d", "--lock-for", "8d")
	agent := v.protect(t, "east", "shop")
	v.ok(t, "instance", "backup-now", "shop")
	j, err := agent.runBackup("succeeded", "")
	if err != nil {
		t.Fatal(err)
	}
	name := j.Spec.Backup.RecoveryPoint
	out := v.ok(t, "recovery-point", "delete", name)
	if !regexpLine(out, `deleted recovery point "`+name+`": kept until \S+, then purged`) {
		t.Fatalf("delete:\n%s", out)
	}
	if out := v.ok(t, "recovery-point", "list", "--deleted"); !regexpLine(out, name) {
		t.Errorf("list --deleted:\n%s", out)
	}
	if out := v.ok(t, "recovery-point", "show", name); !regexpLine(out, `  DELETED:\s+by admin at`) {
		t.Errorf("show:\n%s", out)
	}
	v.fails(t, "bring it back first", "restore", "create", "--from", name)
	v.ok(t, "recovery-point", "undelete", name)
	if out := v.ok(t, "recovery-point", "list"); !regexpLine(out, name) {
		t.Errorf("list after undelete:\n%s", out)
	}
}
