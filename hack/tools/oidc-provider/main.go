// Command oidc-provider is the OpenID provider cairn's single sign-on tests run against
// (internal/oidctest): the OpenID Provider of github.com/zitadel/oidc/v3 (its op package, which
// speaks the protocol: discovery, keys, authorization code with PKCE, the device authorization
// grant of RFC 8628, tokens) over the in-memory storage of that module's example server, with
// users, their groups and the clients read from a JSON file, and plain login pages of its own.
// Never imported by cairn itself; hack/install-oidc-provider.sh builds it.
//
//	oidc-provider -config FILE
//
// The file:
//
//	{"issuer": "http://127.0.0.1:PORT", "listen": "127.0.0.1:PORT",
//	 "devicePollInterval": "1s", "deviceLifetime": "5m",
//	 "users": [{"username": "alice", "password": "...", "email": "alice@example.com", "groups": ["cairn-admins"]}],
//	 "clients": [{"id": "cairn", "secret": "...", "redirectURIGlobs": ["http://127.0.0.1:*/signin/sso/callback"]},
//	             {"id": "cairn-cli"}]}
//
// A client with a secret is confidential (a web application: HTTP Basic authentication at the
// token endpoint); one without is public (native). Every client may use the authorization code
// and the device grants. The ID token carries the user's email, name and, when the scope
// "groups" is asked for, the claim "groups". A user's subject is their username.
//
// Login pages: GET /login/username?authRequestID=ID shows a form (id, username, password) that
// POSTs to /login/username and then redirects back into the protocol; GET /device?user_code=CODE
// shows a form (user_code, username, password, action=allow|deny) that POSTs to /device.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

type config struct {
	Issuer             string       `json:"issuer"`
	Listen             string       `json:"listen"`
	DevicePollInterval string       `json:"devicePollInterval"`
	DeviceLifetime     string       `json:"deviceLifetime"`
	Users              []userConfig `json:"users"`
	Clients            []clientCfg  `json:"clients"`
}

type userConfig struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	Email    string   `json:"email"`
	Groups   []string `json:"groups"`
}

type clientCfg struct {
	ID               string   `json:"id"`
	Secret           string   `json:"secret"`
	RedirectURIs     []string `json:"redirectURIs"`
	RedirectURIGlobs []string `json:"redirectURIGlobs"`
}

const groupsScope = "groups"

func main() {
	path := flag.String("config", "", "JSON configuration file (see the package comment)")
	flag.Parse()
	if err := run(*path); err != nil {
		fmt.Fprintln(os.Stderr, "oidc-provider:", err)
		os.Exit(1)
	}
}

func run(path string) error {
	if path == "" {
		return errors.New("give -config FILE")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	poll, err := durationOr(cfg.DevicePollInterval, 5*time.Second)
	if err != nil {
		return fmt.Errorf("devicePollInterval: %w", err)
	}
	lifetime, err := durationOr(cfg.DeviceLifetime, 5*time.Minute)
	if err != nil {
		return fmt.Errorf("deviceLifetime: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	users := users{}
	for _, u := range cfg.Users {
		users[u.Username] = &storage.User{ID: u.Username, Username: u.Username, Password: u.Password, FirstName: u.Username,
			LastName: "Test", Email: u.Email, EmailVerified: true, PreferredLanguage: language.English}
	}
	groups := map[string][]string{}
	for _, u := range cfg.Users {
		groups[u.Username] = u.Groups
	}
	exampleClients := map[string]*storage.Client{}
	clients := map[string]clientCfg{}
	for _, c := range cfg.Clients {
		redirects := c.RedirectURIs
		if len(redirects) == 0 {
			redirects = []string{"http://127.0.0.1/unused"}
		}
		if c.Secret != "" {
			exampleClients[c.ID] = storage.WebClient(c.ID, c.Secret, redirects...)
		} else {
			exampleClients[c.ID] = storage.NativeClient(c.ID, redirects...)
		}
		clients[c.ID] = c
	}
	st := &store{Storage: storage.NewStorageWithClients(users, exampleClients), groups: groups, clients: clients}

	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return err
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:          key,
		CryptoKeyId:        "key1",
		CodeMethodS256:     true,
		AuthMethodPost:     true,
		SupportedUILocales: []language.Tag{language.English},
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     lifetime,
			PollInterval: poll,
			UserFormPath: "/device",
			UserCode:     op.UserCodeBase20,
		},
	}, st, op.StaticIssuer(cfg.Issuer), op.WithAllowInsecure(), op.WithLogger(logger))
	if err != nil {
		return err
	}

	pages := &pages{st: st, callback: op.AuthCallbackURL(provider), log: logger}
	interceptor := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/username", pages.loginForm)
	mux.Handle("POST /login/username", interceptor.HandlerFunc(pages.login))
	mux.HandleFunc("GET /device", pages.deviceForm)
	mux.HandleFunc("POST /device", pages.device)
	mux.Handle("/", provider)

	srv := &http.Server{Addr: cfg.Listen, Handler: logRequests(logger, mux), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("oidc-provider serving", "issuer", cfg.Issuer, "listen", cfg.Listen)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

func durationOr(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	return time.ParseDuration(s)
}

// users is the static user store; a user's ID is their username.
type users map[string]*storage.User

func (u users) GetUserByID(id string) *storage.User             { return u[id] }
func (u users) GetUserByUsername(username string) *storage.User { return u[username] }
func (u users) ExampleClientID() string                         { return storage.ServiceUserID }

// store is the example's in-memory storage with groups in the ID token and clients that may use
// every grant cairn needs.
type store struct {
	*storage.Storage
	groups  map[string][]string
	clients map[string]clientCfg
}

func (s *store) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return &client{Client: c, cfg: s.clients[id]}, nil
}

// SetUserinfoFromScopes adds the groups claim (the example's own storage fills the standard
// claims in SetUserinfoFromRequest).
func (s *store) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	if slices.Contains(scopes, groupsScope) {
		info.AppendClaims(groupsScope, append([]string{}, s.groups[userID]...))
	}
	return nil
}

// client widens the example's clients: the device grant for all, the groups scope, the standard
// claims in the ID token even beside an access token, and redirect URI globs (any port).
type client struct {
	op.Client
	cfg clientCfg
}

func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken, oidc.GrantTypeDeviceCode}
}

func (c *client) IsScopeAllowed(scope string) bool {
	return scope == groupsScope || c.Client.IsScopeAllowed(scope)
}
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) RedirectURIGlobs() []string           { return c.cfg.RedirectURIGlobs }
func (c *client) PostLogoutRedirectURIGlobs() []string { return nil }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(scopes []string) []string { return scopes }
}

var _ op.HasRedirectGlobs = (*client)(nil)

// pages are the login pages: the username and password form of an authorization request, and
// the device form that approves or denies a user code.
type pages struct {
	st       *store
	callback func(context.Context, string) string
	log      *slog.Logger
}

var loginPage = template.Must(template.New("login").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign in</title></head><body>
<h1>Sign in</h1>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post" action="/login/username">
<input type="hidden" name="id" value="{{.ID}}">
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form></body></html>
`))

var devicePage = template.Must(template.New("device").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Device sign-in</title></head><body>
<h1>Device sign-in</h1>
{{if .Error}}<p class="error">{{.Error}}</p>{{end}}
<form method="post" action="/device">
<label>Code <input name="user_code" value="{{.UserCode}}"></label>
<label>Username <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit" name="action" value="allow">Allow</button>
<button type="submit" name="action" value="deny">Deny</button>
</form></body></html>
`))

func (p *pages) loginForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, loginPage, map[string]string{"ID": r.URL.Query().Get("authRequestID")})
}

func (p *pages) login(w http.ResponseWriter, r *http.Request) {
	id := r.PostFormValue("id")
	if err := p.st.CheckUsernamePassword(r.PostFormValue("username"), r.PostFormValue("password"), id); err != nil {
		p.render(w, http.StatusUnauthorized, loginPage, map[string]string{"ID": id, "Error": err.Error()})
		return
	}
	http.Redirect(w, r, p.callback(r.Context(), id), http.StatusFound)
}

func (p *pages) deviceForm(w http.ResponseWriter, r *http.Request) {
	p.render(w, http.StatusOK, devicePage, map[string]string{"UserCode": r.URL.Query().Get("user_code")})
}

func (p *pages) device(w http.ResponseWriter, r *http.Request) {
	code, username := r.PostFormValue("user_code"), r.PostFormValue("username")
	fail := func(status int, err error) {
		p.render(w, status, devicePage, map[string]string{"UserCode": code, "Error": err.Error()})
	}
	if err := p.st.CheckUsernamePasswordSimple(username, r.PostFormValue("password")); err != nil {
		fail(http.StatusUnauthorized, err)
		return
	}
	if _, err := p.st.GetDeviceAuthorizationByUserCode(r.Context(), code); err != nil {
		fail(http.StatusNotFound, err)
		return
	}
	var err error
	switch r.PostFormValue("action") {
	case "allow":
		err = p.st.CompleteDeviceAuthorization(r.Context(), code, username)
	case "deny":
		err = p.st.DenyDeviceAuthorization(r.Context(), code)
	default:
		err = errors.New(`action: allow or deny`)
	}
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	fmt.Fprintf(w, "<!DOCTYPE html><p>Device %sed. You may return to your device.</p>\n", r.PostFormValue("action"))
}

func (p *pages) render(w http.ResponseWriter, status int, page *template.Template, data map[string]string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := page.Execute(w, data); err != nil {
		p.log.Error("render page", "error", err)
	}
}

func logRequests(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "duration", time.Since(start))
	})
}
