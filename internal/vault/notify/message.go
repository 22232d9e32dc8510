package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/cairnbackup/cairn/internal/vault/events"
	"github.com/cairnbackup/cairn/internal/vault/store"
)

// APIVersion is the version of the webhook's JSON (docs/design/monitoring.md, "Webhook
// payload"); later versions only add fields.
const APIVersion = "cairn.notification/v1"

// Payload is the JSON body a generic webhook receives.
type Payload struct {
	APIVersion string       `json:"apiVersion"`
	Delivery   int64        `json:"delivery"`
	Rule       string       `json:"rule"`
	Event      PayloadEvent `json:"event"`
}

// PayloadEvent is the event of a Payload.
type PayloadEvent struct {
	ID            int64             `json:"id"`
	Type          string            `json:"type"`
	Vault         string            `json:"vault"`
	Time          time.Time         `json:"time"`
	Instance      string            `json:"instance,omitempty"`
	Cluster       string            `json:"cluster,omitempty"`
	Job           int64             `json:"job,omitempty"`
	RecoveryPoint string            `json:"recoveryPoint,omitempty"`
	Summary       string            `json:"summary"`
	Details       map[string]string `json:"details,omitempty"`
}

func payload(d store.Delivery) Payload {
	e := d.Event
	p := Payload{APIVersion: APIVersion, Delivery: d.ID, Rule: d.Rule, Event: PayloadEvent{ID: e.ID, Type: string(e.Type), Vault: e.Vault,
		Time: e.At, Instance: e.Instance, Cluster: e.Cluster, Job: e.Job, RecoveryPoint: e.RecoveryPoint, Summary: e.Summary}}
	if len(e.Details) > 0 {
		p.Event.Details = map[string]string{}
		for _, dt := range e.Details {
			p.Event.Details[dt.Name] = dt.Value
		}
	}
	return p
}

// titles are the subject lines of the event types.
var titles = map[events.Type]string{
	events.JobFailed:          "Job failed",
	events.JobPartiallyFailed: "Job partially failed",
	events.RPOBreached:        "Recovery point objective breached",
	events.AgentUnhealthy:     "Agent unhealthy",
	events.VerificationFailed: "Verification failed",
	events.TestRestoreFailed:  "Test restore failed",
	events.Test:               "Test notification",
}

// title is a one-line subject: "[cairn prod] Job failed: shop".
func title(e events.Event) string {
	t := titles[e.Type]
	if t == "" {
		t = string(e.Type)
	}
	s := fmt.Sprintf("[cairn %s] %s", e.Vault, t)
	switch {
	case e.Instance != "":
		s += ": " + e.Instance
	case e.Cluster != "":
		s += ": cluster " + e.Cluster
	}
	return s
}

// text is the message's body as plain text lines: the summary, then the facts.
func text(e events.Event) string {
	var b strings.Builder
	b.WriteString(e.Summary + "\n\n")
	fact := func(name, value string) {
		if value != "" && value != "0" {
			fmt.Fprintf(&b, "%s: %s\n", name, value)
		}
	}
	fact("Vault", e.Vault)
	fact("Time", e.At.UTC().Format(time.RFC3339))
	fact("Instance", e.Instance)
	fact("Cluster", e.Cluster)
	fact("Job", fmt.Sprint(e.Job))
	fact("Recovery point", e.RecoveryPoint)
	for _, d := range e.Details {
		fact(d.Name, d.Value)
	}
	return b.String()
}
