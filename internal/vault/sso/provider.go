package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// An ID token is accepted when it was issued within MaxIDTokenAge, and at most clockSkew in the
// future (the provider's clock and the vault's may differ): an old ID token cannot buy a fresh
// vault token.
const (
	MaxIDTokenAge = 10 * time.Minute
	clockSkew     = 5 * time.Minute
)

// Options tune a Provider; the zero value works.
type Options struct {
	// Now is the clock ID tokens are checked against (nil: time.Now).
	Now func() time.Time
	// HTTPClient reaches the provider (nil: one with a 15 s timeout).
	HTTPClient *http.Client
}

// Provider is the configured OpenID provider. It reads the provider's discovery document on
// first use (and again after a failure), so the vault starts while the provider is down; token
// sign-in never needs it.
type Provider struct {
	cfg    *Config
	now    func() time.Time
	client *http.Client

	mu        sync.Mutex
	discovery *oidc.Provider
	verifier  *oidc.IDTokenVerifier
}

// NewProvider returns the provider cfg (from Load or Parse) names.
func NewProvider(cfg *Config, opts Options) *Provider {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	return &Provider{cfg: cfg, now: opts.Now, client: opts.HTTPClient}
}

// Config is the provider's configuration.
func (p *Provider) Config() *Config { return p.cfg }

// UnreachableError is a provider whose discovery document could not be read.
type UnreachableError struct {
	Issuer string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("the OpenID provider %s could not be reached: %v", e.Issuer, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// InvalidTokenError is an ID token the vault does not accept, and why.
type InvalidTokenError struct{ Reason string }

func (e *InvalidTokenError) Error() string { return "the ID token is not accepted: " + e.Reason }

// discover returns the provider's metadata and an ID token verifier over its published keys,
// reading the discovery document the first time.
func (p *Provider) discover(ctx context.Context) (*oidc.Provider, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.discovery != nil {
		return p.discovery, p.verifier, nil
	}
	d, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		return nil, nil, &UnreachableError{Issuer: p.cfg.Issuer, Err: err}
	}
	// The audience is checked by Verify (either client may be the one); the signing algorithms
	// are those the discovery document lists.
	p.discovery = d
	p.verifier = d.Verifier(&oidc.Config{SkipClientIDCheck: true, Now: p.now})
	return p.discovery, p.verifier, nil
}

// Check reads the provider's discovery document if it has not been read yet.
func (p *Provider) Check(ctx context.Context) error {
	_, _, err := p.discover(ctx)
	return err
}

// Identity is the person an accepted ID token names.
type Identity struct {
	Subject string
	// Username is the UsernameClaim's value, else preferred_username, else the subject.
	Username string
	// Groups is the GroupsClaim's value.
	Groups []string
	// Nonce is the token's nonce ("" in the device flow).
	Nonce    string
	IssuedAt time.Time
}

// Verify checks a raw ID token: its signature against the provider's published keys, its issuer,
// that its audience holds one of clientIDs, its expiry and its age (MaxIDTokenAge). A refusal is
// an *InvalidTokenError; a provider that cannot be reached, an *UnreachableError.
func (p *Provider) Verify(ctx context.Context, rawIDToken string, clientIDs ...string) (*Identity, error) {
	_, verifier, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := verifier.Verify(oidc.ClientContext(ctx, p.client), rawIDToken)
	if err != nil {
		return nil, &InvalidTokenError{Reason: err.Error()}
	}
	if !slices.ContainsFunc(clientIDs, func(id string) bool { return slices.Contains(tok.Audience, id) }) {
		return nil, &InvalidTokenError{Reason: fmt.Sprintf("its audience %v is not this vault's client (%v)", tok.Audience, clientIDs)}
	}
	now := p.now()
	switch {
	case tok.IssuedAt.IsZero():
		return nil, &InvalidTokenError{Reason: "it has no issue time (iat)"}
	case tok.IssuedAt.After(now.Add(clockSkew)):
		return nil, &InvalidTokenError{Reason: fmt.Sprintf("it was issued in the future (%s; the vault's clock says %s)",
			tok.IssuedAt.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))}
	case now.Sub(tok.IssuedAt) > MaxIDTokenAge:
		return nil, &InvalidTokenError{Reason: fmt.Sprintf("it was issued at %s, more than %s ago: sign in again",
			tok.IssuedAt.UTC().Format(time.RFC3339), MaxIDTokenAge)}
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, &InvalidTokenError{Reason: err.Error()}
	}
	groups, err := stringsClaim(claims, p.cfg.GroupsClaim)
	if err != nil {
		return nil, err
	}
	id := &Identity{Subject: tok.Subject, Groups: groups, Nonce: tok.Nonce, IssuedAt: tok.IssuedAt}
	for _, claim := range []string{p.cfg.UsernameClaim, "preferred_username"} {
		if s, ok := claims[claim].(string); ok && s != "" {
			id.Username = s
			break
		}
	}
	if id.Username == "" {
		id.Username = tok.Subject
	}
	return id, nil
}

// stringsClaim reads a claim that is a list of strings or one string; a missing claim is no
// strings.
func stringsClaim(claims map[string]any, name string) ([]string, error) {
	switch v := claims[name].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, &InvalidTokenError{Reason: fmt.Sprintf("its claim %q holds %v, not only strings", name, e)}
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, &InvalidTokenError{Reason: fmt.Sprintf("its claim %q is %T, not a list of strings", name, v)}
	}
}

// Login is what an authorization code sign-in keeps until the provider sends the browser back:
// the state that binds the answer to it, the nonce the ID token must carry and the PKCE verifier.
type Login struct {
	State, Nonce, Verifier string
}

// NewLogin makes a sign-in's random state, nonce and PKCE verifier.
func NewLogin() Login {
	return Login{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier()}
}

// oauth2Config is the Backup center's client with redirectURL.
func (p *Provider) oauth2Config(d *oidc.Provider, redirectURL string) *oauth2.Config {
	endpoint := d.Endpoint()
	if p.cfg.clientSecret == "" {
		endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.clientSecret, Endpoint: endpoint,
		RedirectURL: redirectURL, Scopes: p.cfg.Scopes}
}

// AuthCodeURL is where the browser goes to sign in: the provider's authorization endpoint with
// l's state, nonce and PKCE challenge (S256), to come back to redirectURL.
func (p *Provider) AuthCodeURL(ctx context.Context, redirectURL string, l Login) (string, error) {
	d, _, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	return p.oauth2Config(d, redirectURL).AuthCodeURL(l.State, oidc.Nonce(l.Nonce), oauth2.S256ChallengeOption(l.Verifier)), nil
}

// StateMatches compares the state the provider sent back with the sign-in's, in constant time.
func (l Login) StateMatches(state string) bool {
	return state != "" && subtle.ConstantTimeCompare([]byte(state), []byte(l.State)) == 1
}

// Exchange trades the code the provider sent back for its ID token, with l's PKCE verifier (and
// the client secret), and verifies that token for the Backup center's client and l's nonce. It
// returns the raw token (to be exchanged for a vault token) and whom it names.
func (p *Provider) Exchange(ctx context.Context, redirectURL, code string, l Login) (string, *Identity, error) {
	d, _, err := p.discover(ctx)
	if err != nil {
		return "", nil, err
	}
	tok, err := p.oauth2Config(d, redirectURL).Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), code, oauth2.VerifierOption(l.Verifier))
	if err != nil {
		return "", nil, fmt.Errorf("the provider refused the sign-in's code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", nil, &InvalidTokenError{Reason: "the provider's answer holds no ID token (is openid among the scopes?)"}
	}
	id, err := p.Verify(ctx, raw, p.cfg.ClientID)
	if err != nil {
		return "", nil, err
	}
	if subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(l.Nonce)) != 1 {
		return "", nil, &InvalidTokenError{Reason: "its nonce is not the one this sign-in sent"}
	}
	return raw, id, nil
}
