package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/oidctest"
	"github.com/cairnbackup/cairn/internal/testenv"
	"github.com/cairnbackup/cairn/internal/vault"
)

// The CLI's single sign-on (cairn login --sso, the device grant) end to end: a vault in process
// with --oidc-config, a real OpenID provider (internal/oidctest) that approves or denies the code
// as a person would in a browser, and the CLI run without a terminal.

// startSSOVault serves a vault whose single sign-on is idp: cairn-admins are contributors and
// cairn-viewers readers of vault "default".
func startSSOVault(t *testing.T, idp *oidctest.Provider) *testVault {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "oidc.yaml")
	if err := os.WriteFile(config, []byte(`
issuer: `+idp.Issuer+`
providerName: Test SSO
clientID: `+oidctest.WebClientID+`
deviceClientID: `+oidctest.CLIClientID+`
vaults:
  default:
    groups:
      cairn-admins: contributor
      cairn-viewers: reader
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return startTestVaultWith(t, func(o *vault.Options) { o.OIDCConfig = config })
}

// runSSOLogin runs cairn login --sso for a person whose login file lives in home; confirm acts at
// the provider with the user code the CLI printed (nil: nobody confirms).
func runSSOLogin(t *testing.T, v *testVault, home string, confirm func(ctx context.Context, code string) error, extra ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	errOut := &testenv.LockedBuffer{}
	env := Env{Stdout: &out, Stderr: errOut, Getenv: func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}}
	done := make(chan error, 1)
	go func() {
		root := NewRootCommand(env)
		root.SetArgs(append([]string{"login", "--vault", v.url, "--sso"}, extra...))
		done <- root.ExecuteContext(ctx)
	}()
	if confirm != nil {
		code, err := oidctest.WaitUserCode(ctx, errOut.String)
		if err != nil {
			t.Fatal(err)
		}
		if err := confirm(ctx, code); err != nil {
			t.Fatal(err)
		}
	}
	err = <-done
	return out.String(), errOut.String(), err
}

// as runs the CLI with the login file in home.
func (v *testVault) as(t *testing.T, home string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errOut, Getenv: func(k string) string {
		if k == "HOME" {
			return home
		}
		return ""
	}}
	root := NewRootCommand(env)
	root.SetArgs(args)
	err := root.ExecuteContext(t.Context())
	return out.String() + errOut.String(), err
}

func TestLoginWithSSO(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{})
	v := startSSOVault(t, idp)
	approve := func(u oidctest.User) func(context.Context, string) error {
		return func(ctx context.Context, code string) error { return idp.ApproveDevice(ctx, code, u) }
	}

	alice := t.TempDir()
	stdout, stderr, err := runSSOLogin(t, v, alice, approve(oidctest.Alice))
	if err != nil {
		t.Fatalf("alice: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "To sign in to the vault with Test SSO, open") || !strings.Contains(stderr, idp.Issuer+"/device") ||
		!strings.Contains(stderr, "and enter the code  ") || !strings.Contains(stderr, "Waiting for you to confirm it") {
		t.Errorf("the prompt:\n%s", stderr)
	}
	if !regexpLine(stdout, `logged in to vault "default" at `+v.url+` as oidc:alice@example\.com:[a-z2-7]{8} \(contributor\)`) ||
		!strings.Contains(stdout, "the token expires at ") {
		t.Errorf("alice's login said:\n%s", stdout)
	}
	path := filepath.Join(alice, ".config", "cairn", "vault.json")
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", path, info, err)
	}
	var saved vaultConfig
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &saved); err != nil || saved.URL != v.url || !strings.HasPrefix(saved.Token, "cairn_") {
		t.Fatalf("login file %s: %v", data, err)
	}
	// A contributor's token works on the API: alice lists the tokens, hers among them.
	if out, err := v.as(t, alice, "token", "list"); err != nil || !strings.Contains(out, "oidc:alice@example.com:") || !strings.Contains(out, "sso") {
		t.Errorf("token list as alice: %v\n%s", err, out)
	}

	bob := t.TempDir()
	stdout, stderr, err = runSSOLogin(t, v, bob, approve(oidctest.Bob))
	if err != nil || !strings.Contains(stdout, "(reader)") {
		t.Fatalf("bob: %v\n%s\n%s", err, stdout, stderr)
	}
	if out, err := v.as(t, bob, "policy", "list"); err != nil {
		t.Errorf("policy list as bob (reader): %v\n%s", err, out)
	}
	if out, err := v.as(t, bob, "token", "list"); err == nil || !strings.Contains(err.Error(), "needs the contributor role") {
		t.Errorf("token list as bob (reader): %v\n%s", err, out)
	}

	carol := t.TempDir()
	_, stderr, err = runSSOLogin(t, v, carol, approve(oidctest.Carol))
	if err == nil || !strings.Contains(err.Error(), "carol@example.com (groups: accounting) has no role in any vault (default)") {
		t.Fatalf("carol: %v\n%s", err, stderr)
	}
	if _, err := os.Stat(filepath.Join(carol, ".config", "cairn", "vault.json")); !os.IsNotExist(err) {
		t.Errorf("carol got a login file: %v", err)
	}

	_, _, err = runSSOLogin(t, v, t.TempDir(), func(ctx context.Context, code string) error { return idp.DenyDevice(ctx, code, oidctest.Alice) })
	if err == nil || !strings.Contains(err.Error(), "the sign-in was denied at Test SSO") {
		t.Errorf("denied: %v", err)
	}
}

func TestLoginWithSSOCodeExpires(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{DeviceLifetime: 2 * time.Second})
	v := startSSOVault(t, idp)
	_, stderr, err := runSSOLogin(t, v, t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "the code expired before the sign-in was confirmed at Test SSO: run cairn login --sso again") {
		t.Fatalf("nobody confirmed: %v\n%s", err, stderr)
	}
}

func TestLoginWithSSOAsksTheVault(t *testing.T) {
	v := startTestVault(t)
	v.fails(t, "this vault has no single sign-on configured", "login", "--vault", v.url, "--sso")
	v.fails(t, "give --sso or --token-file, not both", "login", "--vault", v.url, "--sso", "--token-file", filepath.Join(v.dir, vault.AdminTokenFile))
	v.fails(t, "--vault-name goes with --sso", "login", "--vault", v.url, "--vault-name", "x", "--token-file", filepath.Join(v.dir, vault.AdminTokenFile))
}
