//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/agent"
	"github.com/cairnbackup/cairn/internal/blob/blobopen"
	"github.com/cairnbackup/cairn/internal/policy"
	"github.com/cairnbackup/cairn/internal/testenv"
)

// TestVaultProtectsScheduledBackups (docs/design/vault.md, "Deletion protection" and "Tokens"),
// against a real agent, cluster and S3 server (versitygw) with object lock:
//   - a scheduled backup of a policy with lockFor is locked in S3: the storage refuses to delete
//     its manifest, and the vault shows lockedUntil;
//   - deleted through the vault, the point is kept: a restore of it is refused until it is
//     brought back, and then the restore runs;
//   - a token revoked by a contributor is refused at its next call, in the CLI and in a signed-in
//     Backup center session.
func TestVaultProtectsScheduledBackups(t *testing.T) {
	ctx := t.Context()
	const ns = "protected-app"
	src := clientOf(t, cluster)
	createNamespace(ctx, t, src, ns)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ledger", Namespace: ns}, Data: map[string]string{"balance": "42"}}
	if _, err := src.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s3 := testenv.StartVersityGW(t)
	s3.CreateLockedBucket(t, "locked")
	getenv := func(k string) string {
		switch k {
		case "AWS_ACCESS_KEY_ID":
			return s3.AccessKey
		case "AWS_SECRET_ACCESS_KEY":
			return s3.SecretKey
		}
		return os.Getenv(k)
	}
	storage := "s3://locked/ledger?endpoint=" + url.QueryEscape(s3.Endpoint) + "&region=us-east-1&pathStyle=true"

	v := startVault(t, "")
	v.register(t, "source", restConfigOf(t, cluster), secretsDir(t), func(o *agent.Options) {
		o.Now = v.clock.now // the lock runs from the backup's start on the vault's moved clock
		o.Getenv = getenv
	})
	day := policy.Duration(24 * time.Hour)
	if _, err := v.admin.CreatePolicy(ctx, policy.Policy{Name: "locked", Schedule: policy.Schedule{EveryHours: 1},
		Retention: policy.Retention{Default: 2 * day}, LockFor: day}); err != nil {
		t.Fatal(err)
	}
	in, err := v.admin.CreateInstance(ctx, vaultv1.InstanceSpec{Name: "ledger", Cluster: "source", Policy: "locked",
		Backup: vaultv1.BackupConfig{IncludeNamespaces: []string{ns}}, Storage: vaultv1.StorageLocation{URL: storage, PassphraseSecret: agentSecret}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logJobs(t, v, "ledger")
		}
	})

	// The scheduled backup at the next hour, locked for a day.
	v.clock.advanceTo(in.CreatedAt.UTC().Truncate(time.Hour).Add(time.Hour + 30*time.Second))
	rps := v.waitRecoveryPoints(t, "ledger", 1)
	var rp vaultv1.RecoveryPoint
	for _, p := range rps {
		rp = p
	}
	if rp.LockedUntil == nil || rp.LockedUntil.Sub(rp.Time) < 23*time.Hour || rp.LockedUntil.Sub(rp.Time) > 25*time.Hour {
		t.Fatalf("recovery point %s locked until %v, want a day after its backup (%s)", rp.Name, rp.LockedUntil, rp.Time)
	}
	st, err := blobopen.Open(ctx, storage, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "backups/"+rp.Name+"/manifest"); err == nil {
		t.Fatal("the S3 server deleted the manifest of a locked recovery point")
	}
	if _, err := st.Stat(ctx, "backups/"+rp.Name+"/manifest"); err != nil {
		t.Fatalf("the manifest of %s after the refused delete: %v", rp.Name, err)
	}

	// Deleted through the vault: kept, refused for restore, brought back, restored.
	deleted, err := v.admin.DeleteRecoveryPoint(ctx, rp.Name)
	if err != nil || deleted.Deleted == nil {
		t.Fatalf("delete: %+v %v", deleted.Deleted, err)
	}
	req := vaultv1.RestoreRequest{RecoveryPoint: rp.Name, Options: vaultv1.RestoreOptions{NamespaceMapping: map[string]string{ns: ns + "-back"}}}
	if _, err := v.admin.Restore(ctx, req); err == nil || !strings.Contains(err.Error(), "cairn recovery-point undelete "+rp.Name) {
		t.Fatalf("restore of a deleted point: %v", err)
	}
	if back, err := v.admin.UndeleteRecoveryPoint(ctx, rp.Name); err != nil || back.Deleted != nil {
		t.Fatalf("undelete: %+v %v", back, err)
	}
	// The clock jumped an hour: the vault takes the agent for healthy again at its next heartbeat.
	v.waitHealthy(t, "source")
	job, err := v.admin.Restore(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if j := v.waitJob(t, job.ID, 2*time.Minute); j.State != vaultv1.JobSucceeded {
		t.Fatalf("restore of the brought-back point: %s %s", j.State, j.Error)
	}
	got, err := src.CoreV1().ConfigMaps(ns+"-back").Get(ctx, "ledger", metav1.GetOptions{})
	if err != nil || got.Data["balance"] != "42" {
		t.Fatalf("restored configmap: %+v %v", got, err)
	}

	checkRevokedTokenRefused(t, v)
}

// checkRevokedTokenRefused makes a token, uses it from the cairn binary and from a Backup center
// session, revokes it, and checks both are refused at their next call.
func checkRevokedTokenRefused(t *testing.T, v *testVault) {
	ctx := t.Context()
	tok, err := v.admin.CreateToken(ctx, "carol", "operator", "1d")
	if err != nil {
		t.Fatal(err)
	}
	cli := func() (string, error) {
		cmd := exec.CommandContext(ctx, cairnBinary(t), "instance", "list")
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "CAIRN_VAULT_URL="+v.url, "CAIRN_VAULT_TOKEN="+tok.Token)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := cli(); err != nil || !strings.Contains(out, "ledger") {
		t.Fatalf("cairn instance list with carol's token: %v\n%s", err, out)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// page answers a request of carol's browser with its status and redirect target.
	page := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(c, method, v.url+path, strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", v.url)
		}
		res, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode, res.Header.Get("Location")
	}
	if status, to := page(http.MethodPost, "/signin", url.Values{"token": {tok.Token}}); status != http.StatusSeeOther || to != "/" {
		t.Fatalf("carol signs in: %d to %q", status, to)
	}
	if status, _ := page(http.MethodGet, "/instances", nil); status != http.StatusOK {
		t.Fatalf("carol's instances page: %d", status)
	}

	if err := v.admin.RevokeToken(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	if out, err := cli(); err == nil || !strings.Contains(out, "unknown bearer token") {
		t.Errorf("cairn instance list with a revoked token: %v\n%s", err, out)
	}
	if status, to := page(http.MethodGet, "/instances", nil); status != http.StatusSeeOther || !strings.HasPrefix(to, "/signin") {
		t.Errorf("carol's session after the revocation: %d to %q", status, to)
	}
}
