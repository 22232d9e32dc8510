package notify

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strings"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// Channel types: the API's (vaultv1.ChannelTypes), which owns their list.
const (
	Webhook = vaultv1.ChannelWebhook // JSON, signed with HMAC-SHA256 when the rule has a secret
	Slack   = vaultv1.ChannelSlack   // a Slack incoming webhook (or anything taking {"text": ...})
	Teams   = vaultv1.ChannelTeams   // a Microsoft Teams incoming webhook (a MessageCard)
	Email   = vaultv1.ChannelEmail   // e-mail over SMTP
)

// ValidateRule checks a rule's events, channel and secret before it is stored (its name is the
// API's to check, as every object's) and returns all their problems joined, each naming its
// field.
func ValidateRule(r store.NotificationRule) error {
	var errs []error
	if len(r.Events) == 0 {
		errs = append(errs, fmt.Errorf("events: required: name one or more of %s", strings.Join(vaultv1.EventTypes, ", ")))
	}
	for _, t := range r.Events {
		if _, err := events.Parse(string(t)); err != nil {
			errs = append(errs, fmt.Errorf("events: %w", err))
		}
	}
	errs = append(errs, validateChannel(r.Channel, r.Secret)...)
	return errors.Join(errs...)
}

func validateChannel(c store.Channel, secret string) []error {
	var errs []error
	switch c.Type {
	case Webhook, Slack, Teams:
		if err := validateURL(c.URL); err != nil {
			errs = append(errs, err)
		}
		if c.SMTP != "" || c.From != "" || len(c.To) > 0 || c.Username != "" {
			errs = append(errs, fmt.Errorf("channel: a %s channel takes a url only (smtp, from, to and username are for email)", c.Type))
		}
		if secret != "" && c.Type != Webhook {
			errs = append(errs, fmt.Errorf("secret: only a webhook channel signs with a secret (a %s webhook's URL is its credential)", c.Type))
		}
	case Email:
		if c.URL != "" {
			errs = append(errs, errors.New("channel.url: an email channel takes smtp, from and to, not a url"))
		}
		if _, port, err := net.SplitHostPort(c.SMTP); err != nil || port == "" {
			errs = append(errs, fmt.Errorf(`channel.smtp %q: give the SMTP server as host:port (e.g. "smtp.example.com:587")`, c.SMTP))
		}
		if _, err := mail.ParseAddress(c.From); err != nil {
			errs = append(errs, fmt.Errorf("channel.from %q: not an e-mail address", c.From))
		}
		if len(c.To) == 0 {
			errs = append(errs, errors.New("channel.to: required: one or more e-mail addresses"))
		}
		for _, to := range c.To {
			if _, err := mail.ParseAddress(to); err != nil {
				errs = append(errs, fmt.Errorf("channel.to %q: not an e-mail address", to))
			}
		}
		if c.Username != "" && secret == "" {
			errs = append(errs, errors.New("secret: the SMTP password is required when channel.username is given"))
		}
	case "":
		errs = append(errs, fmt.Errorf("channel.type: required: one of %s", strings.Join(vaultv1.ChannelTypes, ", ")))
	default:
		errs = append(errs, fmt.Errorf("channel.type %q: not a channel type; use one of %s", c.Type, strings.Join(vaultv1.ChannelTypes, ", ")))
	}
	return errs
}

func validateURL(raw string) error {
	if raw == "" {
		return errors.New("channel.url: required (the endpoint to POST to)")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("channel.url %q: must be an http:// or https:// URL", raw)
	}
	return nil
}

// Wants tells whether the rule asks for events of type t.
func Wants(r store.NotificationRule, t events.Type) bool {
	return slices.Contains(r.Events, t)
}

// RedactedURL is the channel's URL as the API shows it: a Slack or Teams webhook's URL is its
// credential, so only its scheme and host are shown.
func RedactedURL(c store.Channel) string {
	if c.Type == Webhook || c.URL == "" {
		return c.URL
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/…"
}
