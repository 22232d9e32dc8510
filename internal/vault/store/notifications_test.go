package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/events"
)

// TestNotificationsRoundTrip: rules round-trip; an event is recorded once by key; routing makes
// each delivery once (routing again, as a second vault process would, makes none); a due
// delivery is taken by one process only; attempts are recorded; deleting a rule fails its
// pending deliveries and keeps its log.
func TestNotificationsRoundTrip(t *testing.T) {
	eachBackend(t, func(t *testing.T, st *Store) {
		ctx := t.Context()
		newVault(t, st)
		clk := withClock(st)
		hook := NotificationRule{Name: "ops", Events: []events.Type{events.JobFailed, events.RPOBreached},
			Channel: Channel{Type: "webhook", URL: "http://127.0.0.1:9/hook"}, Secret: "s3cret", CreatedAt: clk.t, CreatedBy: "admin"}
		mail := NotificationRule{Name: "mail", Events: []events.Type{events.JobFailed},
			Channel:   Channel{Type: "email", SMTP: "127.0.0.1:25", From: "vault@example.com", To: []string{"a@example.com", "b@example.com"}},
			CreatedAt: clk.t, CreatedBy: "admin"}
		for _, r := range []NotificationRule{hook, mail} {
			if err := st.CreateNotificationRule(ctx, "prod", r); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.CreateNotificationRule(ctx, "prod", hook); !errors.Is(err, ErrExists) {
			t.Fatalf("second rule of a name: %v, want ErrExists", err)
		}
		got, err := st.GetNotificationRule(ctx, "prod", "mail")
		if err != nil || !slices.Equal(got.Channel.To, mail.Channel.To) || got.Channel.SMTP != mail.Channel.SMTP || !slices.Equal(got.Events, mail.Events) {
			t.Fatalf("rule read back %+v, %v", got, err)
		}
		if rules, err := st.ListNotificationRules(ctx, "prod"); err != nil || len(rules) != 2 || rules[0].Name != "mail" || rules[1].Secret != "s3cret" {
			t.Fatalf("rules %+v, %v", rules, err)
		}

		e := events.Event{Vault: "prod", Type: events.JobFailed, Key: "job/7", At: clk.t, Instance: "shop", Cluster: "east", Job: 7,
			Summary: "backup failed", Details: []events.Detail{{Name: "kind", Value: "backup"}}}
		for i, want := range []bool{true, false} {
			if recorded, err := st.RecordEvent(ctx, e); err != nil || recorded != want {
				t.Fatalf("record %d: %v %v, want %v", i, recorded, err, want)
			}
		}
		route := func(e events.Event) []string { return []string{"ops", "mail"} }
		if n, err := st.RouteEvents(ctx, 10, route, clk.t); err != nil || n != 1 {
			t.Fatalf("routed %d, %v", n, err)
		}
		if n, err := st.RouteEvents(ctx, 10, route, clk.t); err != nil || n != 0 {
			t.Fatalf("routed again %d, %v", n, err)
		}
		due, err := st.DueDeliveries(ctx, clk.t, 10)
		if err != nil || len(due) != 2 || due[0].Event.Summary != "backup failed" || due[0].Event.Details[0].Value != "backup" {
			t.Fatalf("due %+v, %v", due, err)
		}
		d := due[0]
		if ok, err := st.TakeDelivery(ctx, d, clk.t, clk.t.Add(time.Minute)); !ok || err != nil {
			t.Fatalf("take: %v %v", ok, err)
		}
		if ok, err := st.TakeDelivery(ctx, d, clk.t, clk.t.Add(time.Minute)); ok || err != nil {
			t.Fatalf("taken twice: %v %v", ok, err)
		}
		next := clk.t.Add(30 * time.Second)
		if err := st.EndAttempt(ctx, d.ID, Attempt{State: DeliveryPending, NextAttempt: &next, Error: "503", At: clk.t}); err != nil {
			t.Fatal(err)
		}
		if due, err := st.DueDeliveries(ctx, clk.t, 10); err != nil || len(due) != 1 {
			t.Fatalf("due after a failed attempt %+v, %v", due, err)
		}
		clk.advance(30 * time.Second)
		if due, err := st.DueDeliveries(ctx, clk.t, 10); err != nil || len(due) != 2 {
			t.Fatalf("due once the retry is %+v, %v", due, err)
		}
		if err := st.EndAttempt(ctx, d.ID, Attempt{State: DeliveryDelivered, At: clk.t}); err != nil {
			t.Fatal(err)
		}
		got1, err := st.GetDelivery(ctx, "prod", d.ID)
		if err != nil || got1.State != DeliveryDelivered || got1.Attempts != 2 || got1.DeliveredAt == nil || got1.NextAttempt != nil || got1.LastError != "" {
			t.Fatalf("delivered %+v, %v", got1, err)
		}

		if err := st.DeleteNotificationRule(ctx, "prod", "mail"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteNotificationRule(ctx, "prod", "mail"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted twice: %v", err)
		}
		log, err := st.ListDeliveries(ctx, "prod", DeliveryFilter{Rule: "mail"}, Page{})
		if err != nil || len(log.Items) != 1 || log.Items[0].State != DeliveryFailed || log.Items[0].LastError != "the rule was deleted" {
			t.Fatalf("log of the deleted rule %+v, %v", log, err)
		}
		if log, err := st.ListDeliveries(ctx, "prod", DeliveryFilter{State: DeliveryDelivered}, Page{}); err != nil || len(log.Items) != 1 || log.Items[0].Rule != "ops" {
			t.Fatalf("delivered log %+v, %v", log, err)
		}

		id, err := st.QueueTestDelivery(ctx, "ops", events.Event{Vault: "prod", Key: "test/1", At: clk.t, Summary: "test"}, clk.t)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := st.GetDelivery(ctx, "prod", id); err != nil || d.Event.Type != events.Test || d.State != DeliveryPending {
			t.Fatalf("test delivery %+v, %v", d, err)
		}
		if n, err := st.RouteEvents(ctx, 10, route, clk.t); err != nil || n != 0 {
			t.Fatalf("a test event was routed to every rule: %d, %v", n, err)
		}
	})
}
