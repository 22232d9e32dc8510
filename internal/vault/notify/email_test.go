package notify_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/smtptest"
	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/notify"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// TestEmailThroughARealSMTPServer: a notification by e-mail reaches a real SMTP server
// (aiosmtpd) with its subject, recipients and text; an unreachable server is retried.
func TestEmailThroughARealSMTPServer(t *testing.T) {
	smtp := smtptest.Start(t)
	f := newFixture(t)
	f.rule(t, store.NotificationRule{Name: "mail", Events: []events.Type{events.JobFailed},
		Channel:   store.Channel{Type: notify.Email, SMTP: smtp.Addr, From: "Cairn vault <vault@example.com>", To: []string{"ops@example.com", "dba@example.com"}},
		CreatedAt: f.clk.now(), CreatedBy: "admin"})
	f.rule(t, store.NotificationRule{Name: "nowhere", Events: []events.Type{events.JobFailed},
		Channel:   store.Channel{Type: notify.Email, SMTP: "127.0.0.1:1", From: "vault@example.com", To: []string{"ops@example.com"}},
		CreatedAt: f.clk.now(), CreatedBy: "admin"})
	f.event(t, events.JobFailed, "job/7")
	f.tick(t)

	msgs := smtp.WaitMessages(t, 1, 10*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	body, _ := io.ReadAll(m.Body)
	if m.Header.Get("Subject") != "[cairn prod] Job failed: shop" || !strings.Contains(m.Header.Get("To"), "dba@example.com") ||
		m.Header.Get("X-Cairn-Event") != "job-failed" || !strings.Contains(string(body), `backup job 7 of instance "shop" failed: open storage: 403`) ||
		!strings.Contains(string(body), "Cluster: east") {
		t.Errorf("message %v\n%s", m.Header, body)
	}
	if d := f.deliveries(t, "mail"); d[0].State != store.DeliveryDelivered {
		t.Errorf("delivery %+v", d[0])
	}
	if d := f.deliveries(t, "nowhere"); d[0].State != store.DeliveryPending || !strings.Contains(d[0].LastError, "connect to SMTP server 127.0.0.1:1") {
		t.Errorf("delivery to a closed port %+v", d[0])
	}
}
