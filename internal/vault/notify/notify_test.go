package notify_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/notify"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a notifier over a SQLite store of vault "prod" on a settable clock.
type fixture struct {
	st  *store.Store
	clk *clock
	n   *notify.Notifier
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clk := &clock{t: time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)}
	st, err := store.OpenSQLite(t.Context(), t.TempDir(), clk.now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.EnsureVault(t.Context(), "prod"); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, clk: clk, n: notify.New(st, notify.Options{Now: clk.now, Timeout: 5 * time.Second})}
}

func (f *fixture) rule(t *testing.T, r store.NotificationRule) {
	t.Helper()
	if err := notify.ValidateRule(r); err != nil {
		t.Fatal(err)
	}
	if err := f.st.CreateNotificationRule(t.Context(), "prod", r); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) event(t *testing.T, typ events.Type, key string) {
	t.Helper()
	if _, err := f.st.RecordEvent(t.Context(), events.Event{Vault: "prod", Type: typ, Key: key, At: f.clk.now(), Instance: "shop",
		Cluster: "east", Job: 7, Summary: `backup job 7 of instance "shop" failed: open storage: 403`,
		Details: []events.Detail{{Name: "kind", Value: "backup"}}}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) tick(t *testing.T) {
	t.Helper()
	if err := f.n.Tick(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) deliveries(t *testing.T, rule string) []store.Delivery {
	t.Helper()
	l, err := f.st.ListDeliveries(t.Context(), "prod", store.DeliveryFilter{Rule: rule}, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// receiver is an HTTP endpoint that answers the first fail requests 503 and then 200.
type receiver struct {
	mu       sync.Mutex
	fail     int
	requests []*http.Request
	bodies   [][]byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests, rc.bodies = append(rc.requests, r), append(rc.bodies, body)
	if len(rc.requests) <= rc.fail {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

// TestWebhookIsSignedAndRetriedWithBackOff: a failing receiver is tried again after 30 s, then
// 1 min, not sooner; the delivered JSON carries the event and an HMAC signature over its body;
// an event of a type the rule does not want is not sent.
func TestWebhookIsSignedAndRetriedWithBackOff(t *testing.T) {
	f := newFixture(t)
	rc := &receiver{fail: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	f.rule(t, store.NotificationRule{Name: "ops", Events: []events.Type{events.JobFailed}, Secret: "s3cret",
		Channel: store.Channel{Type: notify.Webhook, URL: srv.URL + "/hook"}, CreatedAt: f.clk.now(), CreatedBy: "admin"})
	f.event(t, events.JobFailed, "job/7")
	f.event(t, events.AgentUnhealthy, "agent/east")

	f.tick(t)
	d := f.deliveries(t, "ops")
	if rc.count() != 1 || len(d) != 1 || d[0].State != store.DeliveryPending || d[0].Attempts != 1 || !strings.Contains(d[0].LastError, "503") ||
		!d[0].NextAttempt.Equal(f.clk.now().Add(30*time.Second)) {
		t.Fatalf("after the first attempt: %d requests, deliveries %+v", rc.count(), d)
	}
	f.clk.advance(29 * time.Second)
	if f.tick(t); rc.count() != 1 {
		t.Fatalf("retried before its back-off: %d requests", rc.count())
	}
	f.clk.advance(time.Second)
	f.tick(t)
	f.clk.advance(time.Minute)
	f.tick(t)
	d = f.deliveries(t, "ops")
	if rc.count() != 3 || d[0].State != store.DeliveryDelivered || d[0].Attempts != 3 || d[0].DeliveredAt == nil {
		t.Fatalf("after three attempts: %d requests, deliveries %+v", rc.count(), d)
	}
	f.clk.advance(time.Hour)
	if f.tick(t); rc.count() != 3 {
		t.Fatalf("a delivered notification was sent again: %d requests", rc.count())
	}

	req, body := rc.requests[2], rc.bodies[2]
	if req.URL.Path != "/hook" || req.Header.Get(notify.HeaderEvent) != "job-failed" || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %v", req.URL, req.Header)
	}
	if sig := req.Header.Get(notify.HeaderSignature); sig != notify.Sign("s3cret", f.clk.now().Add(-time.Hour), body) {
		t.Errorf("signature %q does not sign the body with the secret", sig)
	}
	var p notify.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.APIVersion != notify.APIVersion || p.Rule != "ops" || p.Delivery != d[0].ID || p.Event.Type != "job-failed" || p.Event.Vault != "prod" ||
		p.Event.Instance != "shop" || p.Event.Job != 7 || p.Event.Details["kind"] != "backup" || !strings.Contains(p.Event.Summary, "403") {
		t.Errorf("payload %+v", p)
	}
}

// TestDeliveryGivesUp: a receiver that always fails is tried MaxAttempts times over about an hour,
// then the delivery is failed with the last error.
func TestDeliveryGivesUp(t *testing.T) {
	f := newFixture(t)
	rc := &receiver{fail: 1 << 30}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	f.rule(t, store.NotificationRule{Name: "ops", Events: []events.Type{events.JobFailed},
		Channel: store.Channel{Type: notify.Slack, URL: srv.URL}, CreatedAt: f.clk.now(), CreatedBy: "admin"})
	f.event(t, events.JobFailed, "job/7")
	var waited time.Duration
	for attempt := 1; attempt <= notify.MaxAttempts+2; attempt++ {
		f.tick(t)
		f.clk.advance(notify.RetryAfter(attempt))
		waited += notify.RetryAfter(attempt)
	}
	d := f.deliveries(t, "ops")
	if rc.count() != notify.MaxAttempts || d[0].State != store.DeliveryFailed || d[0].Attempts != notify.MaxAttempts || !strings.Contains(d[0].LastError, "503") {
		t.Fatalf("%d requests, deliveries %+v", rc.count(), d)
	}
	if len(rc.requests[0].Header.Get(notify.HeaderSignature)) != 0 {
		t.Error("a Slack message was signed")
	}
	var slack map[string]string
	if err := json.Unmarshal(rc.bodies[0], &slack); err != nil || !strings.Contains(slack["text"], "[cairn prod] Job failed: shop") {
		t.Errorf("slack body %s, %v", rc.bodies[0], err)
	}
}

func TestTeamsCard(t *testing.T) {
	f := newFixture(t)
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	f.rule(t, store.NotificationRule{Name: "teams", Events: []events.Type{events.JobFailed},
		Channel: store.Channel{Type: notify.Teams, URL: srv.URL}, CreatedAt: f.clk.now(), CreatedBy: "admin"})
	f.event(t, events.JobFailed, "job/7")
	f.tick(t)
	var card map[string]any
	if err := json.Unmarshal(rc.bodies[0], &card); err != nil || card["@type"] != "MessageCard" || card["title"] != "[cairn prod] Job failed: shop" ||
		!strings.Contains(card["text"].(string), "Instance: shop  \n") {
		t.Fatalf("teams card %s, %v", rc.bodies[0], err)
	}
}

func TestValidateRule(t *testing.T) {
	ok := store.Channel{Type: notify.Webhook, URL: "https://hooks.example.com/cairn"}
	for _, c := range []struct {
		name string
		rule store.NotificationRule
		want string // "" when valid
	}{
		{"webhook", store.NotificationRule{Events: []events.Type{events.JobFailed}, Channel: ok, Secret: "k"}, ""},
		{"no events", store.NotificationRule{Channel: ok}, "events: required"},
		{"unknown event", store.NotificationRule{Events: []events.Type{"job-done"}, Channel: ok}, `event "job-done": not an event type; use one of job-failed`},
		{"test is not asked for", store.NotificationRule{Events: []events.Type{events.Test}, Channel: ok}, `event "test"`},
		{"no type", store.NotificationRule{Events: []events.Type{events.JobFailed}}, "channel.type: required: one of webhook, slack, teams, email"},
		{"ftp", store.NotificationRule{Events: []events.Type{events.JobFailed}, Channel: store.Channel{Type: notify.Slack, URL: "ftp://x/y"}},
			`channel.url "ftp://x/y": must be an http:// or https:// URL`},
		{"slack secret", store.NotificationRule{Events: []events.Type{events.JobFailed}, Channel: store.Channel{Type: notify.Slack, URL: "https://hooks.slack.com/x"}, Secret: "k"},
			"secret: only a webhook channel signs"},
		{"email", store.NotificationRule{Events: []events.Type{events.RPOBreached}, Channel: store.Channel{Type: notify.Email, SMTP: "smtp.example.com:587",
			From: "Cairn <vault@example.com>", To: []string{"ops@example.com"}, Username: "vault"}, Secret: "pw"}, ""},
		{"email without port", store.NotificationRule{Events: []events.Type{events.RPOBreached}, Channel: store.Channel{Type: notify.Email, SMTP: "smtp.example.com",
			From: "vault@example.com", To: []string{"ops"}}}, `channel.smtp "smtp.example.com": give the SMTP server as host:port`},
		{"email bad to", store.NotificationRule{Events: []events.Type{events.RPOBreached}, Channel: store.Channel{Type: notify.Email, SMTP: "smtp:25",
			From: "vault@example.com", To: []string{"ops"}}}, `channel.to "ops": not an e-mail address`},
		{"username without password", store.NotificationRule{Events: []events.Type{events.RPOBreached}, Channel: store.Channel{Type: notify.Email, SMTP: "smtp:25",
			From: "vault@example.com", To: []string{"ops@example.com"}, Username: "u"}}, "secret: the SMTP password is required"},
	} {
		err := notify.ValidateRule(c.rule)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if got := notify.RedactedURL(store.Channel{Type: notify.Slack, URL: "https://hooks.slack.com/services/T0/B0/XYZ"}); got != "https://hooks.slack.com/…" {
		t.Errorf("redacted slack URL %q", got)
	}
}

func TestRetryAfter(t *testing.T) {
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := notify.RetryAfter(i + 1); got != w {
			t.Errorf("after attempt %d: %s, want %s", i+1, got, w)
		}
	}
}
