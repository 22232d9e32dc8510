//go:build e2e

package e2e

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/localcluster"
	"github.com/cairnbackup/cairn/internal/oidctest"
	"github.com/cairnbackup/cairn/internal/vault"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// TestBackupCenterSSO signs people in to the Backup center in headless Chromium through a real
// OpenID provider (internal/oidctest): test/browser/sso.mjs clicks "Sign in with Test SSO", fills
// the provider's login form and comes back to the vault (the authorization code flow with PKCE,
// the SameSite=Strict session cookie set on a cross-site redirect included): alice, a contributor,
// lands on the overview, sees her token and signs out; bob, a reader, comes back to the deep link
// he opened; carol, in no mapped group, is refused. Then the vault's side is checked: alice's
// token revoked, bob's a reader's, the sign-ins and the refusal in the audit log. It needs no
// cluster, only the browser test's dependencies and the provider (make test-servers).
func TestBackupCenterSSO(t *testing.T) {
	node, modules := browserTestDeps(t)
	ctx := t.Context()
	idp := oidctest.Start(t, oidctest.Options{})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(oidctest.WebClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(dir, "oidc.yaml")
	if err := os.WriteFile(config, []byte(`
issuer: `+idp.Issuer+`
providerName: Test SSO
clientID: `+oidctest.WebClientID+`
clientSecretFile: secret
deviceClientID: `+oidctest.CLIClientID+`
vaults:
  default:
    groups:
      cairn-admins: contributor
      cairn-viewers: reader
`), 0o600); err != nil {
		t.Fatal(err)
	}
	v := startVault(t, "", func(o *vault.Options) { o.OIDCConfig = config })

	shots := ssoScreenshotDir(t)
	runBrowserScriptFile(t, node, modules, "sso.mjs", []string{
		"CAIRN_UI_URL=" + v.url,
		"CAIRN_IDP_URL=" + idp.Issuer,
		"CAIRN_IDP_NAME=Test SSO",
		"CAIRN_ADMIN_USER=" + oidctest.Alice.Username, "CAIRN_ADMIN_PASSWORD=" + oidctest.Alice.Password, "CAIRN_ADMIN_EMAIL=" + oidctest.Alice.Email,
		"CAIRN_VIEWER_USER=" + oidctest.Bob.Username, "CAIRN_VIEWER_PASSWORD=" + oidctest.Bob.Password, "CAIRN_VIEWER_EMAIL=" + oidctest.Bob.Email,
		"CAIRN_STRANGER_USER=" + oidctest.Carol.Username, "CAIRN_STRANGER_PASSWORD=" + oidctest.Carol.Password,
		"CAIRN_SCREENSHOTS=" + shots,
	})

	tokens, err := v.admin.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sso []string
	for _, tok := range tokens {
		if tok.Kind == "sso" {
			sso = append(sso, tok.Name+" "+tok.Role)
			if tok.ExpiresAt == nil || time.Until(*tok.ExpiresAt) < 11*time.Hour {
				t.Errorf("token %s expires at %v, want in about 12 h", tok.Name, tok.ExpiresAt)
			}
		}
	}
	if len(sso) != 1 || !strings.HasPrefix(sso[0], "oidc:bob@example.com:") || !strings.HasSuffix(sso[0], " reader") {
		t.Errorf("single sign-on tokens after the browser: %v, want bob's reader token alone (alice signed out)", sso)
	}
	audit, err := v.admin.ListAudit(ctx, client.AuditFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range audit.Items {
		switch {
		case e.Operation == "POST /api/v1/sso/token" && e.Status == 201:
			seen["signed in "+strings.SplitN(e.Principal, ":", 3)[1]] = true
		case e.Operation == "POST /api/v1/sso/token" && e.Status == 403:
			seen["refused "+e.Principal] = true
		case e.Operation == "POST /api/v1/sso/revoke" && e.Status == 204:
			seen["signed out "+strings.SplitN(e.Principal, ":", 3)[1]] = true
		}
	}
	for _, want := range []string{"signed in alice@example.com", "signed in bob@example.com", "refused oidc:carol@example.com", "signed out alice@example.com"} {
		if !seen[want] {
			t.Errorf("the audit log lacks %q: %v", want, seen)
		}
	}
}

// ssoScreenshotDir is where sso.mjs saves its screenshots, emptied first, beside the Backup
// center's: $CAIRN_ARTIFACTS/backup-center-sso, or artifacts/backup-center-sso in .cache.
func ssoScreenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CAIRN_ARTIFACTS")
	if dir == "" {
		bins, err := localcluster.DefaultBinaries()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(bins.State, "artifacts")
	}
	dir = filepath.Join(dir, "backup-center-sso")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runBrowserScriptFile runs test/browser/<script> as runBrowserScript runs backup-center.mjs
// (which could call it): env added, output into the test log, the script's process group killed
// afterwards, a failure if it exits non-zero or outlasts browserScriptTimeout.
func runBrowserScriptFile(t *testing.T, node, modules, script string, env []string) {
	t.Helper()
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), browserScriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(bins.Repo, "test", "browser", script))
	cmd.Env = append(os.Environ(), append(env, "NODE_PATH="+modules, "CHROMIUM="+chromiumPath, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")...)
	out := &lineLogger{t: t, prefix: "browser: "}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	began := time.Now()
	err = cmd.Run()
	if cmd.Process != nil {
		if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
			t.Logf("kill the browser script's process group: %v", kerr)
		}
	}
	out.flush()
	switch {
	case ctx.Err() != nil && t.Context().Err() == nil:
		t.Fatalf("%s did not finish within %s", script, browserScriptTimeout)
	case err != nil:
		t.Fatalf("%s failed after %s: %v", script, time.Since(began).Round(time.Second), err)
	}
	t.Logf("%s passed in %s", script, time.Since(began).Round(time.Second))
}
