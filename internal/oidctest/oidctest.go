// Package oidctest runs a real OpenID provider for tests of single sign-on: the zitadel/oidc
// provider that hack/install-oidc-provider.sh builds from hack/tools/oidc-provider, on a free
// loopback port, with static users and groups and two clients (a confidential one for the Backup
// center's authorization code flow, a public one for the CLI's device grant). LogIn and
// ApproveDevice act as a person at its pages with a plain http.Client. Without the binary the test
// is skipped, except under CI=true, where it fails. Only tests import this package.
package oidctest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/localcluster"
)

const installHint = "hack/install-oidc-provider.sh (or make test-servers)"

// User is a person the provider knows.
type User struct {
	Username, Password, Email string
	Groups                    []string
}

// The provider's people by default: alice administers, bob views, carol is in no group cairn
// knows.
var (
	Alice = User{Username: "alice", Password: "alice-password", Email: "alice@example.com", Groups: []string{"cairn-admins", "staff"}}
	Bob   = User{Username: "bob", Password: "bob-password", Email: "bob@example.com", Groups: []string{"cairn-viewers"}}
	Carol = User{Username: "carol", Password: "carol-password", Email: "carol@example.com", Groups: []string{"accounting"}}
)

// The provider's clients.
const (
	// WebClientID is a confidential client (secret WebClientSecret) whose redirect URIs are
	// http://127.0.0.1:<any port>/signin/sso/callback and the same on localhost.
	WebClientID     = "cairn"
	WebClientSecret = "cairn-web-secret"
	// CLIClientID is a public client for the device grant.
	CLIClientID = "cairn-cli"
)

// Options tune the provider; the zero value gives Alice, Bob and Carol, a device poll interval of
// one second and device codes that live five minutes.
type Options struct {
	Users              []User
	DevicePollInterval time.Duration
	DeviceLifetime     time.Duration
}

// Provider is a running OpenID provider.
type Provider struct {
	// Issuer is its issuer URL, http://127.0.0.1:PORT.
	Issuer string
}

// Start runs the provider until the test ends.
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	bin := binary(t)
	if len(opts.Users) == 0 {
		opts.Users = []User{Alice, Bob, Carol}
	}
	if opts.DevicePollInterval == 0 {
		opts.DevicePollInterval = time.Second
	}
	if opts.DeviceLifetime == 0 {
		opts.DeviceLifetime = 5 * time.Minute
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "oidc-provider.log")
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("oidc-provider.log:\n%s", tail(string(b), 30))
			}
		}
	})
	// The free port is found by binding and releasing it, so another process may take it in
	// between: then the provider exits and the start is retried on a new port.
	var lastErr error
	for range 3 {
		addr, err := freeAddr()
		if err != nil {
			t.Fatalf("oidctest: %v", err)
		}
		p := &Provider{Issuer: "http://" + addr}
		if lastErr = p.start(t, bin, addr, dir, logPath, opts); lastErr == nil {
			return p
		}
	}
	t.Fatalf("oidctest: the OpenID provider did not start: %v", lastErr)
	return nil
}

// binary is the provider the install script built for this checkout's wrapper source.
func binary(t testing.TB) string {
	t.Helper()
	missing := func(msg string) {
		msg = "the OpenID provider is not built (" + msg + "): run " + installHint
		if os.Getenv("CI") == "true" {
			t.Fatal("oidctest: " + msg)
		}
		t.Skip("oidctest: " + msg)
	}
	bins, err := localcluster.DefaultBinaries()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	version, err := bins.Version("ZITADEL_OIDC_VERSION")
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	// The same revision as hack/install-oidc-provider.sh: SHA-256 of go.mod, go.sum, main.go.
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum", "main.go"} {
		b, err := os.ReadFile(filepath.Join(bins.Repo, "hack", "tools", "oidc-provider", name))
		if err != nil {
			t.Fatalf("oidctest: %v", err)
		}
		h.Write(b)
	}
	rev := hex.EncodeToString(h.Sum(nil))[:12]
	bin := filepath.Join(bins.Cache, "tools", "oidc-provider-"+version+"-"+rev, "oidc-provider")
	if _, err := os.Stat(bin); err != nil {
		missing("no " + bin)
	}
	return bin
}

func (p *Provider) start(t testing.TB, bin, addr, dir, logPath string, opts Options) error {
	type user struct {
		Username string   `json:"username"`
		Password string   `json:"password"`
		Email    string   `json:"email"`
		Groups   []string `json:"groups"`
	}
	type client struct {
		ID               string   `json:"id"`
		Secret           string   `json:"secret,omitempty"`
		RedirectURIGlobs []string `json:"redirectURIGlobs,omitempty"`
	}
	cfg := struct {
		Issuer             string   `json:"issuer"`
		Listen             string   `json:"listen"`
		DevicePollInterval string   `json:"devicePollInterval"`
		DeviceLifetime     string   `json:"deviceLifetime"`
		Users              []user   `json:"users"`
		Clients            []client `json:"clients"`
	}{Issuer: p.Issuer, Listen: addr, DevicePollInterval: opts.DevicePollInterval.String(), DeviceLifetime: opts.DeviceLifetime.String(),
		Clients: []client{
			{ID: WebClientID, Secret: WebClientSecret, RedirectURIGlobs: []string{"http://127.0.0.1:*/signin/sso/callback", "http://localhost:*/signin/sso/callback"}},
			{ID: CLIClientID},
		}}
	for _, u := range opts.Users {
		cfg.Users = append(cfg.Users, user(u))
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(logFile, "--- oidc-provider on %s\n", addr)
	cmd := exec.Command(bin, "-config", path)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", bin, err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() {
		waitErr = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			return fmt.Errorf("the provider exited: %w (its log is below if the test fails)", waitErr)
		default:
		}
		resp, err := http.Get(p.Issuer + "/.well-known/openid-configuration")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Cleanup(stop)
				return nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("no discovery document at %s within 20 s: %w", p.Issuer, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hiddenID finds the authorization request's ID in the login form.
var hiddenID = regexp.MustCompile(`<input type="hidden" name="id" value="([^"]*)">`)

// LogIn signs user in as a browser would: c (which should have a cookie jar) opens start, a page
// of the relying party that sends the browser to the provider, and follows the redirects to the
// provider's login form; LogIn fills in the form and posts it, and c follows the redirects back
// to the relying party. It returns the last response, its body unread; the caller closes it.
func (p *Provider) LogIn(ctx context.Context, c *http.Client, start string, user User) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, start, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	page, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	at := resp.Request.URL
	if !strings.HasPrefix(at.String(), p.Issuer+"/login/username") {
		return nil, fmt.Errorf("oidctest: %s did not lead to the provider's login page but to %s (%d): %s", start, at, resp.StatusCode, excerpt(page))
	}
	m := hiddenID.FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("oidctest: no authorization request in the login page at %s: %s", at, excerpt(page))
	}
	form := url.Values{"id": {html.UnescapeString(string(m[1]))}, "username": {user.Username}, "password": {user.Password}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/login/username", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(req)
}

// ApproveDevice approves a device grant's user code as user at the provider's device page.
func (p *Provider) ApproveDevice(ctx context.Context, userCode string, user User) error {
	return p.device(ctx, userCode, user, "allow")
}

// DenyDevice denies a device grant's user code as user.
func (p *Provider) DenyDevice(ctx context.Context, userCode string, user User) error {
	return p.device(ctx, userCode, user, "deny")
}

func (p *Provider) device(ctx context.Context, userCode string, user User, action string) error {
	form := url.Values{"user_code": {userCode}, "username": {user.Username}, "password": {user.Password}, "action": {action}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Issuer+"/device", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Device "+action+"ed")) {
		return fmt.Errorf("oidctest: %s user code %s as %s: %d %s", action, userCode, user.Username, resp.StatusCode, excerpt(body))
	}
	return nil
}

// UserCodeIn finds the user code in what a CLI printed ("code ABCD-EFGH" or a verification URL
// with ?user_code=); "" when there is none yet.
func UserCodeIn(output string) string {
	if m := userCodeRE.FindStringSubmatch(output); m != nil {
		return m[1]
	}
	return ""
}

var userCodeRE = regexp.MustCompile(`user_code=([A-Z0-9]{4}-[A-Z0-9]{4})`)

// WaitUserCode polls output (a CLI's stderr as it is written) until it holds a user code.
func WaitUserCode(ctx context.Context, output func() string) (string, error) {
	for {
		if code := UserCodeIn(output()); code != "" {
			return code, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("oidctest: no user code printed: %w; output so far:\n%s", ctx.Err(), output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func excerpt(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(l.Addr().(*net.TCPAddr).Port)), nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
