package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// Webhook headers (docs/design/monitoring.md, "Webhook payload").
const (
	HeaderSignature = "X-Cairn-Signature" // t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
	HeaderEvent     = "X-Cairn-Event"     // the event's type
	HeaderDelivery  = "X-Cairn-Delivery"  // the delivery's ID: a receiver may drop repeats by it
)

// Sign is the X-Cairn-Signature value of body sent at t with secret.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// httpBody is the JSON a channel of HTTP type gets for d.
func httpBody(channelType string, d store.Delivery) any {
	e := d.Event
	switch channelType {
	case Slack:
		return map[string]string{"text": "*" + title(e) + "*\n" + text(e)}
	case Teams:
		// An Office 365 connector card: what Teams incoming webhooks take.
		return map[string]any{"@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": title(e),
			"title": title(e), "text": markdownLines(text(e)), "themeColor": themeColor(e)}
	}
	return payload(d)
}

// post sends d's body to the rule's URL; any status but 2xx is an error.
func (n *Notifier) post(ctx context.Context, r store.NotificationRule, d store.Delivery) error {
	body, err := json.Marshal(httpBody(r.Channel.Type, d))
	if err != nil {
		return fmt.Errorf("encode notification: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.Channel.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notification request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cairn-vault")
	if r.Channel.Type == Webhook {
		req.Header.Set(HeaderEvent, string(d.Event.Type))
		req.Header.Set(HeaderDelivery, strconv.FormatInt(d.ID, 10))
		if r.Secret != "" {
			req.Header.Set(HeaderSignature, Sign(r.Secret, n.now(), body))
		}
	}
	resp, err := n.http.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", RedactedURL(r.Channel), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", RedactedURL(r.Channel), resp.Status, bytes.TrimSpace(answer))
	}
	return nil
}

// markdownLines ends each line with two spaces, Markdown's line break (Teams joins lines otherwise).
func markdownLines(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte("\n"), []byte("  \n")))
}

// themeColor is the card's accent: blue for a test, red for what went wrong.
func themeColor(e events.Event) string {
	if e.Type == events.Test {
		return "0078D7"
	}
	return "D83B01"
}
