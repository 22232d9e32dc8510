package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/store"
)

// mail sends d as a plain-text e-mail through the rule's SMTP server: STARTTLS when the server
// offers it, and PLAIN authentication with the rule's username and secret when it has a username
// (which net/smtp allows only over TLS or to localhost).
func (n *Notifier) mail(ctx context.Context, r store.NotificationRule, d store.Delivery) error {
	c := r.Channel
	host, _, err := net.SplitHostPort(c.SMTP)
	if err != nil {
		return fmt.Errorf("smtp %q: %w", c.SMTP, err)
	}
	// A network deadline is on the real clock, not the vault's (which tests move).
	deadline := time.Now().Add(n.timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", c.SMTP)
	if err != nil {
		return fmt.Errorf("connect to SMTP server %s: %w", c.SMTP, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("SMTP server %s: %w", c.SMTP, err)
	}
	client, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("SMTP server %s: %w", c.SMTP, err)
	}
	defer client.Close()
	if err := client.Hello("cairn-vault"); err != nil {
		return fmt.Errorf("SMTP server %s: HELO: %w", c.SMTP, err)
	}
	if ok, _ := client.Extension("STARTTLS"); ok {
		if err := client.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return fmt.Errorf("SMTP server %s: STARTTLS: %w", c.SMTP, err)
		}
	}
	if c.Username != "" {
		if err := client.Auth(smtp.PlainAuth("", c.Username, r.Secret, host)); err != nil {
			return fmt.Errorf("SMTP server %s: authenticate as %q: %w", c.SMTP, c.Username, err)
		}
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return fmt.Errorf("from %q: %w", c.From, err)
	}
	if err := client.Mail(from.Address); err != nil {
		return fmt.Errorf("SMTP server %s: MAIL FROM: %w", c.SMTP, err)
	}
	var to []string
	for _, t := range c.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return fmt.Errorf("to %q: %w", t, err)
		}
		if err := client.Rcpt(a.Address); err != nil {
			return fmt.Errorf("SMTP server %s: RCPT TO %s: %w", c.SMTP, a.Address, err)
		}
		to = append(to, a.String())
	}
	w, err := client.Data()
	if err != nil {
		return fmt.Errorf("SMTP server %s: DATA: %w", c.SMTP, err)
	}
	if _, err := w.Write(message(from.String(), to, d, n.now())); err != nil {
		return fmt.Errorf("SMTP server %s: send message: %w", c.SMTP, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("SMTP server %s: message refused: %w", c.SMTP, err)
	}
	return client.Quit()
}

// message is the e-mail of delivery d: headers, then the text with CRLF line ends.
func message(from string, to []string, d store.Delivery, now time.Time) []byte {
	var b bytes.Buffer
	header := func(name, value string) { fmt.Fprintf(&b, "%s: %s\r\n", name, value) }
	header("From", from)
	header("To", strings.Join(to, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", title(d.Event)))
	header("Date", now.UTC().Format(time.RFC1123Z))
	header("Message-ID", fmt.Sprintf("<cairn-delivery-%d-%d@%s>", d.ID, now.UnixNano(), "cairn.invalid"))
	header("X-Cairn-Event", string(d.Event.Type))
	header("X-Cairn-Delivery", fmt.Sprint(d.ID))
	header("MIME-Version", "1.0")
	header("Content-Type", `text/plain; charset="utf-8"`)
	header("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	// The DATA writer does SMTP's dot-stuffing.
	b.WriteString(strings.ReplaceAll(text(d.Event), "\n", "\r\n"))
	return b.Bytes()
}
