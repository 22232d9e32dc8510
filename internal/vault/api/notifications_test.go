package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/notify"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// hookServer is a webhook receiver on loopback that counts what it receives.
func hookServer(t *testing.T, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		n.Add(1)
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func (f *fixture) notificationRule(t *testing.T, name, url string) {
	t.Helper()
	if err := f.st.CreateNotificationRule(t.Context(), "prod", store.NotificationRule{Name: name, Events: []events.Type{events.JobFailed},
		Channel: store.Channel{Type: notify.Webhook, URL: url}, CreatedAt: fixedClock(), CreatedBy: "admin"}); err != nil {
		t.Fatal(err)
	}
}

var notificationMatrixCalls = map[string]matrixCall{
	"GET /api/v1/notification-rules": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", "/api/v1/notification-rules", token, ""), nil
	},
	"GET /api/v1/notification-rules/{name}": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		f.notificationRule(t, "get-"+unique, "http://127.0.0.1:9/x")
		return newRequest(t, "GET", "/api/v1/notification-rules/get-"+unique, token, ""), nil
	},
	"POST /api/v1/notification-rules": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		name := "new-" + unique
		body := fmt.Sprintf(`{"name":%q,"events":["job-failed"],"channel":{"type":"webhook","url":"http://127.0.0.1:9/x"}}`, name)
		return newRequest(t, "POST", "/api/v1/notification-rules", token, body), func(t *testing.T, allowed bool) {
			_, err := f.st.GetNotificationRule(t.Context(), "prod", name)
			if allowed != (err == nil) {
				t.Errorf("allowed %v, rule stored: %v", allowed, err)
			}
		}
	},
	"DELETE /api/v1/notification-rules/{name}": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		name := "del-" + unique
		f.notificationRule(t, name, "http://127.0.0.1:9/x")
		return newRequest(t, "DELETE", "/api/v1/notification-rules/"+name, token, ""), func(t *testing.T, allowed bool) {
			_, err := f.st.GetNotificationRule(t.Context(), "prod", name)
			if allowed != errors.Is(err, store.ErrNotFound) {
				t.Errorf("allowed %v, rule after the call: %v", allowed, err)
			}
		}
	},
	"POST /api/v1/notification-rules/{name}/test": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		srv, received := hookServer(t, http.StatusNoContent)
		f.notificationRule(t, "test-"+unique, srv.URL)
		return newRequest(t, "POST", "/api/v1/notification-rules/test-"+unique+"/test", token, ""), func(t *testing.T, allowed bool) {
			if sent := received.Load() == 1; sent != allowed {
				t.Errorf("allowed %v, %d test notifications received", allowed, received.Load())
			}
		}
	},
	"GET /api/v1/notifications": func(t *testing.T, f *fixture, token, _ string) (*http.Request, func(*testing.T, bool)) {
		return newRequest(t, "GET", "/api/v1/notifications?state=failed", token, ""), nil
	},
	"GET /api/v1/notifications/{id}": func(t *testing.T, f *fixture, token, unique string) (*http.Request, func(*testing.T, bool)) {
		f.notificationRule(t, "log-"+unique, "http://127.0.0.1:9/x")
		id, err := f.st.QueueTestDelivery(t.Context(), "log-"+unique, events.Event{Vault: "prod", Key: "test/" + unique, At: fixedClock(), Summary: "t"}, fixedClock())
		if err != nil {
			t.Fatal(err)
		}
		return newRequest(t, "GET", fmt.Sprintf("/api/v1/notifications/%d", id), token, ""), nil
	},
}

// TestNotificationRules: a rule is created (its secret never shown, a Slack URL shown by host
// only), refused with every problem named, tested through a real receiver (delivered, and
// failed with the receiver's answer), and its deliveries are in the log.
func TestNotificationRules(t *testing.T) {
	f := newFixture(t)
	contributor := f.tokens["contributor"]
	ok, _ := hookServer(t, http.StatusOK)
	down, _ := hookServer(t, http.StatusBadGateway)

	rec := f.do(t, "POST", "/api/v1/notification-rules", contributor,
		fmt.Sprintf(`{"name":"ops","events":["job-failed","rpo-breached"],"channel":{"type":"webhook","url":%q},"secret":"s3cret"}`, ok.URL))
	var rule vaultv1.NotificationRule
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &rule) != nil || !rule.SecretSet || rule.Secret != "" ||
		rec.Header().Get("Location") != "/api/v1/notification-rules/ops" || strings.Contains(rec.Body.String(), "s3cret") || rule.CreatedBy != "contributor-user" {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	rec = f.do(t, "POST", "/api/v1/notification-rules", contributor,
		`{"name":"chat","events":["agent-unhealthy"],"channel":{"type":"slack","url":"https://hooks.slack.com/services/T0/B0/XYZ"}}`)
	if rec.Code != http.StatusCreated || strings.Contains(rec.Body.String(), "XYZ") || !strings.Contains(rec.Body.String(), `"url":"https://hooks.slack.com/…"`) {
		t.Fatalf("slack rule: %d %s", rec.Code, rec.Body)
	}
	rec = f.do(t, "POST", "/api/v1/notification-rules", contributor,
		`{"name":"bad","events":["job-done"],"channel":{"type":"email","smtp":"mail","to":["ops"]}}`)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `event \"job-done\": not an event type`) ||
		!strings.Contains(rec.Body.String(), `channel.smtp \"mail\": give the SMTP server as host:port`) || !strings.Contains(rec.Body.String(), `channel.to \"ops\"`) {
		t.Fatalf("invalid rule: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "POST", "/api/v1/notification-rules", contributor, `{"name":"Ops!","events":["job-failed"],"channel":{"type":"webhook","url":"http://x"}}`); rec.Code != http.StatusUnprocessableEntity ||
		!strings.Contains(rec.Body.String(), `"field":"name"`) {
		t.Fatalf("bad name: %d %s", rec.Code, rec.Body)
	}

	rec = f.do(t, "POST", "/api/v1/notification-rules/ops/test", f.tokens["operator"], "")
	var d vaultv1.Delivery
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &d) != nil || d.State != vaultv1.DeliveryDelivered || d.Event.Type != vaultv1.EventTest ||
		d.Attempts != 1 || !strings.Contains(d.Event.Summary, `test notification of rule "ops", sent by operator-user`) {
		t.Fatalf("test: %d %s", rec.Code, rec.Body)
	}
	f.notificationRule(t, "down", down.URL)
	rec = f.do(t, "POST", "/api/v1/notification-rules/down/test", f.tokens["operator"], "")
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &d) != nil || d.State != vaultv1.DeliveryFailed || !strings.Contains(d.LastError, "502 Bad Gateway") {
		t.Fatalf("test of a failing channel: %d %s", rec.Code, rec.Body)
	}

	rec = f.do(t, "GET", "/api/v1/notifications?rule=down", f.tokens["reader"], "")
	var log vaultv1.List[vaultv1.Delivery]
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &log) != nil || len(log.Items) != 1 || log.Items[0].ID != d.ID {
		t.Fatalf("log: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "GET", "/api/v1/notifications?state=lost", f.tokens["reader"], ""); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), `state: \"lost\" is not a delivery state; use pending, delivered or failed`) {
		t.Fatalf("bad state filter: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "DELETE", "/api/v1/notification-rules/down", contributor, ""); rec.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(t, "GET", "/api/v1/notification-rules", f.tokens["reader"], ""); rec.Code != http.StatusOK ||
		!strings.Contains(rec.Body.String(), `"name":"chat"`) || strings.Contains(rec.Body.String(), `"name":"down"`) {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
}
