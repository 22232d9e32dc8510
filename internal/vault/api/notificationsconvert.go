package api

import (
	"time"

	"github.com/cairnbackup/cairn/api/vaultv1"
	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/notify"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

func apiRule(r store.NotificationRule) vaultv1.NotificationRule {
	evs := make([]string, len(r.Events))
	for i, t := range r.Events {
		evs[i] = string(t)
	}
	c := r.Channel
	return vaultv1.NotificationRule{Name: r.Name, Events: evs, SecretSet: r.Secret != "", CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy,
		Channel: vaultv1.NotificationChannel{Type: c.Type, URL: notify.RedactedURL(c), SMTP: c.SMTP, From: c.From, To: c.To, Username: c.Username}}
}

func storeRule(r vaultv1.NotificationRule, by string, now time.Time) store.NotificationRule {
	evs := make([]events.Type, len(r.Events))
	for i, t := range r.Events {
		evs[i] = events.Type(t)
	}
	c := r.Channel
	return store.NotificationRule{Name: r.Name, Events: evs, Secret: r.Secret, CreatedAt: now.UTC(), CreatedBy: by,
		Channel: store.Channel{Type: c.Type, URL: c.URL, SMTP: c.SMTP, From: c.From, To: c.To, Username: c.Username}}
}

func apiDelivery(d store.Delivery) vaultv1.Delivery {
	e := d.Event
	out := vaultv1.Delivery{ID: d.ID, Rule: d.Rule, State: d.State, Attempts: d.Attempts, NextAttempt: d.NextAttempt, LastError: d.LastError,
		CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt, Event: vaultv1.Event{ID: e.ID, Type: string(e.Type), Time: e.At, Instance: e.Instance,
			Cluster: e.Cluster, Job: e.Job, RecoveryPoint: e.RecoveryPoint, Summary: e.Summary}}
	if len(e.Details) > 0 {
		out.Event.Details = map[string]string{}
		for _, dt := range e.Details {
			out.Event.Details[dt.Name] = dt.Value
		}
	}
	return out
}
