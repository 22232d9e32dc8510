package ui_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/access"
	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// TestNotificationsPage: the page lists the rules and the delivery log; an operator sends a test
// through a rule (a real receiver gets it) and sees it delivered; a reader sees no action.
func TestNotificationsPage(t *testing.T) {
	f := newFixture(t)
	var received atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { received.Add(1) }))
	defer srv.Close()
	b := f.signedIn(t, access.RoleOperator)
	if _, body := b.get("/notifications"); !strings.Contains(body, `id="no-rules"`) || !strings.Contains(body, "Nothing sent yet.") {
		t.Fatalf("empty page:\n%s", body)
	}
	must(t, f.st.CreateNotificationRule(t.Context(), "prod", store.NotificationRule{Name: "ops", Events: []events.Type{events.JobFailed, events.RPOBreached},
		Channel: store.Channel{Type: "webhook", URL: srv.URL + "/hook"}, Secret: "k", CreatedAt: time.Now(), CreatedBy: "admin"}))
	_, body := b.get("/notifications")
	if !strings.Contains(body, `data-rule="ops"`) || !strings.Contains(body, "job-failed, rpo-breached") || !strings.Contains(body, "HMAC") ||
		!strings.Contains(body, `data-action="test-notification"`) {
		t.Fatalf("rules:\n%s", body)
	}
	res, _ := b.post("/notifications/rules/ops/test", url.Values{"csrf": {b.csrf()}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/notifications?rule=ops" || received.Load() != 1 {
		t.Fatalf("test: %d to %q, %d received", res.StatusCode, res.Header.Get("Location"), received.Load())
	}
	if _, body := b.get("/notifications?rule=ops&state=delivered"); !strings.Contains(body, "test notification of rule &#34;ops&#34;") ||
		!strings.Contains(body, `state-delivered`) {
		t.Fatalf("log:\n%s", body)
	}
	r := f.signedIn(t, access.RoleReader)
	if _, body := r.get("/notifications"); strings.Contains(body, "data-action") {
		t.Error("a reader sees the test action")
	}
}
