package oidctest

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestProviderFlows runs both flows cairn uses against the provider, as any relying party would:
// the device grant of the public client and the authorization code flow with PKCE of the
// confidential one, each ending in an ID token with the person's groups.
func TestProviderFlows(t *testing.T) {
	p := Start(t, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	disc, err := oidc.NewProvider(ctx, p.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, raw any, client string, want User) {
		t.Helper()
		s, _ := raw.(string)
		tok, err := disc.Verifier(&oidc.Config{ClientID: client}).Verify(ctx, s)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var claims struct {
			Email  string   `json:"email"`
			Groups []string `json:"groups"`
		}
		if err := tok.Claims(&claims); err != nil || tok.Subject != want.Username || claims.Email != want.Email || !slices.Equal(claims.Groups, want.Groups) {
			t.Errorf("ID token of %s: subject %q, claims %+v (%v)", want.Username, tok.Subject, claims, err)
		}
	}
	scopes := []string{"openid", "email", "profile", "groups"}

	t.Run("device", func(t *testing.T) {
		endpoint := disc.Endpoint()
		endpoint.AuthStyle = oauth2.AuthStyleInParams
		cfg := &oauth2.Config{ClientID: CLIClientID, Endpoint: endpoint, Scopes: scopes}
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if da.Interval != 1 || da.VerificationURIComplete != p.Issuer+"/device?user_code="+da.UserCode || UserCodeIn(da.VerificationURIComplete) != da.UserCode {
			t.Errorf("device authorization %+v", da)
		}
		if err := p.ApproveDevice(ctx, da.UserCode, User{Username: "alice", Password: "wrong"}); err == nil {
			t.Error("approved with a wrong password")
		}
		if err := p.ApproveDevice(ctx, da.UserCode, Bob); err != nil {
			t.Fatal(err)
		}
		tok, err := cfg.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatal(err)
		}
		check(t, tok.Extra("id_token"), CLIClientID, Bob)

		denied, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.DenyDevice(ctx, denied.UserCode, Alice); err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.DeviceAccessToken(ctx, denied); err == nil {
			t.Error("a denied device code got a token")
		}
	})

	t.Run("code with PKCE", func(t *testing.T) {
		codes := make(chan string, 1)
		rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			codes <- r.URL.Query().Get("code")
			_, _ = w.Write([]byte("signed in"))
		}))
		defer rp.Close()
		cfg := &oauth2.Config{ClientID: WebClientID, ClientSecret: WebClientSecret, Endpoint: disc.Endpoint(),
			RedirectURL: rp.URL + "/signin/sso/callback", Scopes: scopes}
		verifier := oauth2.GenerateVerifier()
		start := cfg.AuthCodeURL("state-1", oidc.Nonce("nonce-1"), oauth2.S256ChallengeOption(verifier))
		jar, _ := cookiejar.New(nil)
		resp, err := p.LogIn(ctx, &http.Client{Jar: jar}, start, Alice)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.Request.URL.Query().Get("state") != "state-1" {
			t.Errorf("landed on %s", resp.Request.URL)
		}
		code := <-codes
		if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption("not-the-verifier-not-the-verifier-not-the-verifier")); err == nil {
			t.Error("the code was exchanged without its PKCE verifier")
		}
		// A refused exchange may consume the code: sign in again for the real one.
		resp, err = p.LogIn(ctx, &http.Client{Jar: jar}, start, Alice)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		tok, err := cfg.Exchange(ctx, <-codes, oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		check(t, tok.Extra("id_token"), WebClientID, Alice)
	})
}
