package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/client"
)

// ssoLogin signs a person in through the vault's OpenID provider with the device authorization
// grant (RFC 8628; docs/design/vault.md, "Single sign-on"): it prints where to confirm the code on
// prompt, polls the provider and exchanges the ID token it gets for a vault token in vaultName
// ("": the person's only vault). It needs no terminal.
func ssoLogin(ctx context.Context, prompt io.Writer, vaultURL, vaultName string) (vaultv1.SSOToken, error) {
	var none vaultv1.SSOToken
	anonymous, err := client.New(vaultURL, "", nil)
	if err != nil {
		return none, err
	}
	settings, err := anonymous.SSOSettings(ctx)
	if err != nil {
		return none, err
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	ctx = oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, httpClient), httpClient)
	provider, err := oidc.NewProvider(ctx, settings.Issuer)
	if err != nil {
		return none, fmt.Errorf("reach the vault's OpenID provider %s: %w", settings.Issuer, err)
	}
	endpoint := provider.Endpoint()
	if endpoint.DeviceAuthURL == "" {
		return none, fmt.Errorf("the OpenID provider %s offers no device authorization (RFC 8628): sign in with a token (cairn login --token-file)", settings.Issuer)
	}
	endpoint.AuthStyle = oauth2.AuthStyleInParams // a public client: its ID in the form, no secret
	cfg := &oauth2.Config{ClientID: settings.ClientID, Endpoint: endpoint, Scopes: settings.Scopes}
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		return none, fmt.Errorf("ask %s for a sign-in code: %w", settings.ProviderName, err)
	}
	fmt.Fprintf(prompt, "To sign in to the vault with %s, open\n\n  %s\n\nand enter the code  %s\n", settings.ProviderName, da.VerificationURI, da.UserCode)
	if da.VerificationURIComplete != "" {
		fmt.Fprintf(prompt, "(or open %s)\n", da.VerificationURIComplete)
	}
	if !da.Expiry.IsZero() {
		fmt.Fprintf(prompt, "\nWaiting for you to confirm it (until %s)...\n", da.Expiry.Local().Format("15:04:05"))
	}
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		return none, deviceError(ctx, settings.ProviderName, err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	if idToken == "" {
		return none, fmt.Errorf("%s answered without an ID token (is openid among the vault's scopes %v?)", settings.ProviderName, settings.Scopes)
	}
	minted, err := anonymous.SSOToken(ctx, idToken, vaultName)
	if err != nil {
		return none, err
	}
	return minted, nil
}

// deviceError says what ended a device grant's wait, and what to do.
func deviceError(ctx context.Context, provider string, err error) error {
	var re *oauth2.RetrieveError
	switch {
	case ctx.Err() != nil:
		return err
	case errors.As(err, &re) && re.ErrorCode == "access_denied":
		return fmt.Errorf("the sign-in was denied at %s", provider)
	case errors.As(err, &re) && re.ErrorCode == "expired_token", errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("the code expired before the sign-in was confirmed at %s: run cairn login --sso again", provider)
	default:
		return fmt.Errorf("sign in with %s: %w", provider, err)
	}
}
