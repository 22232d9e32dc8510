package cli

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/smtptest"
	"github.com/cairnbackup/cairn/internal/vault"
)

// hookReceiver records the webhook calls it gets.
type hookReceiver struct {
	mu     sync.Mutex
	events []string
	signed []bool
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, r.Header.Get("X-Cairn-Event"))
	h.signed = append(h.signed, strings.HasPrefix(r.Header.Get("X-Cairn-Signature"), "t="))
}

func (h *hookReceiver) received() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...)
}

// TestNotifications: rules made with the CLI send a test notification, and a failed backup once
// to a webhook (signed) and once by e-mail through a real SMTP server, however many ticks pass;
// the delivery log shows both.
func TestNotifications(t *testing.T) {
	smtp := smtptest.Start(t)
	hook := &hookReceiver{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	v := startTestVaultWith(t, func(o *vault.Options) { o.Tick = 100 * time.Millisecond })
	agent := v.protect(t, "prod", "shop")
	key := filepath.Join(t.TempDir(), "hmac.key")
	if err := os.WriteFile(key, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	v.fails(t, "--event: say which events to send: job-failed, job-partially-failed, rpo-breached", "notification", "create", "x", "--webhook", srv.URL)
	v.fails(t, "give one channel per rule, not --webhook and --slack", "notification", "create", "x", "--event", "job-failed", "--webhook", srv.URL, "--slack", srv.URL)
	v.fails(t, `--event "job-done": use job-failed`, "notification", "create", "x", "--event", "job-done", "--webhook", srv.URL)
	v.fails(t, `channel.smtp "mail": give the SMTP server as host:port`, "notification", "create", "x", "--event", "job-failed",
		"--email-to", "ops@example.com", "--smtp", "mail", "--from", "vault@example.com")
	if out := v.ok(t, "notification", "create", "ops", "--event", "job-failed,rpo-breached", "--webhook", srv.URL+"/cairn", "--secret-file", key); !strings.Contains(out, `created notification rule "ops": job-failed, rpo-breached to webhook`) {
		t.Errorf("create: %s", out)
	}
	v.ok(t, "notification", "create", "mail", "--event", "job-failed", "--email-to", "ops@example.com", "--smtp", smtp.Addr, "--from", "Cairn <vault@example.com>")
	if out := v.ok(t, "notification", "list"); !regexpLine(out, `mail\s+job-failed\s+e-mail to ops@example.com via 127.0.0.1:\d+\s+-`) ||
		!regexpLine(out, `ops\s+job-failed,rpo-breached\s+webhook http://127.0.0.1:\d+/cairn\s+true`) {
		t.Errorf("list:\n%s", out)
	}
	if out := v.ok(t, "notification", "test", "ops"); !strings.Contains(out, `delivered through rule "ops"`) {
		t.Errorf("test: %s", out)
	}

	v.ok(t, "instance", "backup-now", "shop")
	if _, err := agent.runBackup(vaultv1.JobFailed, "storage unreachable: connection refused"); err != nil {
		t.Fatal(err)
	}
	smtp.WaitMessages(t, 1, 20*time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for len(hook.received()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // ten more ticks: nothing is sent twice
	if got := hook.received(); len(got) != 2 || got[0] != vaultv1.EventTest || got[1] != vaultv1.EventJobFailed || !hook.signed[1] {
		t.Errorf("webhook received %q (signed %v), want one test and one job-failed", got, hook.signed)
	}
	msgs := smtp.Messages(t)
	if len(msgs) != 1 || msgs[0].Header.Get("Subject") != "[cairn default] Job failed: shop" {
		t.Fatalf("%d e-mails, want one about the failed job", len(msgs))
	}
	body, _ := io.ReadAll(msgs[0].Body)
	if !strings.Contains(string(body), "storage unreachable: connection refused") {
		t.Errorf("e-mail body:\n%s", body)
	}
	if out := v.ok(t, "notification", "log", "--rule", "mail"); !regexpLine(out, `\d+\s+\S+\s+mail\s+job-failed\s+delivered\s+1\s+backup job \d+ of instance "shop" failed: storage unreachable`) {
		t.Errorf("log:\n%s", out)
	}
	v.fails(t, `--state "lost": use pending, delivered or failed`, "notification", "log", "--state", "lost")
	v.ok(t, "notification", "delete", "mail")
	v.fails(t, `notification rule "mail"`, "notification", "show", "mail")
}
