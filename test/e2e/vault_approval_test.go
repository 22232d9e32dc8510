//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/vault"
)

// TestVaultApprovals (docs/design/vault.md, "Approvals"): on a vault started with approval
// required, contributors are made on the server's host (`cairn vault issue-token`: the API refuses
// them), the cairn binary's `instance delete` by alice is held and says how to approve it;
// alice's own approval is refused; bob's approval deletes the instance.
func TestVaultApprovals(t *testing.T) {
	ctx := t.Context()
	v := startVault(t, "", func(o *vault.Options) { o.API.RequireApproval = true })
	if _, err := v.admin.RegisterCluster(ctx, vaultv1.ClusterRegistration{Name: "held"}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "daily", Schedule: policy.Schedule{DailyAt: "03:00"},
		Retention: policy.Retention{Default: policy.Duration(7 * 24 * 3600e9)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: "doomed", Cluster: "held", Policy: "daily",
		Storage: vaultv1.StorageLocation{URL: "file://" + t.TempDir(), PassphraseSecret: agentSecret}}); err != nil {
		t.Fatal(err)
	}
	if _, err := v.admin.StopInstance(ctx, "doomed", vaultv1.StopRequest{}); err != nil {
		t.Fatal(err)
	}
	cairn := func(token string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, cairnBinary(t), args...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "CAIRN_VAULT_URL="+v.url, "CAIRN_VAULT_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if _, err := v.admin.CreateToken(ctx, "alice", "contributor", "1d"); err == nil || !strings.Contains(err.Error(), "cairn vault issue-token") {
		t.Fatalf("a contributor token through the API of a vault requiring approval: %v", err)
	}
	issue := func(name string) string {
		out, err := exec.CommandContext(ctx, cairnBinary(t), "vault", "issue-token", name, "--role", "contributor", "--data-dir", v.dataDir).Output()
		if err != nil {
			t.Fatalf("cairn vault issue-token %s: %v", name, err)
		}
		return strings.TrimSpace(string(out))
	}
	alice, bob := issue("alice"), issue("bob")
	out, err := cairn(alice, "instance", "delete", "doomed")
	if err != nil || !strings.Contains(out, "waiting for approval: request 1") {
		t.Fatalf("alice deletes: %v\n%s", err, out)
	}
	if _, err := v.admin.GetInstance(ctx, "doomed"); err != nil {
		t.Fatalf("the held delete ran: %v", err)
	}
	if out, err := cairn(alice, "approval", "approve", "1"); err == nil || !strings.Contains(out, "was made by alice: another contributor must approve it") {
		t.Fatalf("alice approves her own request: %v\n%s", err, out)
	}
	if out, err := cairn(bob, "approval", "approve", "1"); err != nil || !strings.Contains(out, "approval request 1: approved") {
		t.Fatalf("bob approves: %v\n%s", err, out)
	}
	if _, err := v.admin.GetInstance(ctx, "doomed"); err == nil {
		t.Fatal("the approved delete did not run")
	}
}
