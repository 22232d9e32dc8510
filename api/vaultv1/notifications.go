package vaultv1

import "time"

// Notification event types a rule may ask for (docs/design/monitoring.md, "Notifications").
const (
	EventJobFailed          = "job-failed"
	EventJobPartiallyFailed = "job-partially-failed"
	EventRPOBreached        = "rpo-breached"
	EventAgentUnhealthy     = "agent-unhealthy"
	EventVerificationFailed = "verification-failed"
	EventTestRestoreFailed  = "test-restore-failed"
	EventTest               = "test" // sent only by "send a test notification"
)

// EventTypes lists the event types a rule may ask for (not EventTest); it owns their list.
var EventTypes = []string{EventJobFailed, EventJobPartiallyFailed, EventRPOBreached, EventAgentUnhealthy, EventVerificationFailed, EventTestRestoreFailed}

// Notification channel types.
const (
	ChannelWebhook = "webhook"
	ChannelSlack   = "slack"
	ChannelTeams   = "teams"
	ChannelEmail   = "email"
)

// ChannelTypes lists the channel types.
var ChannelTypes = []string{ChannelWebhook, ChannelSlack, ChannelTeams, ChannelEmail}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// DeliveryStates lists the delivery states.
var DeliveryStates = []string{DeliveryPending, DeliveryDelivered, DeliveryFailed}

// NotificationRule sends the vault's events of the types it names through its channel.
type NotificationRule struct {
	Name    string              `json:"name"`
	Events  []string            `json:"events"`
	Channel NotificationChannel `json:"channel"`
	// Secret is write-only: a webhook's HMAC key, or the SMTP password. Responses say only
	// whether one is set.
	Secret    string    `json:"secret,omitempty"`
	SecretSet bool      `json:"secretSet,omitempty"`
	CreatedAt time.Time `json:"createdAt,omitzero"`
	CreatedBy string    `json:"createdBy,omitempty"`
}

// NotificationChannel is where a rule's notifications go: url for webhook, slack and teams (a
// Slack or Teams URL is its credential: responses show its host only); smtp, from, to and
// username for email.
type NotificationChannel struct {
	Type     string   `json:"type"`
	URL      string   `json:"url,omitempty"`
	SMTP     string   `json:"smtp,omitempty"`
	From     string   `json:"from,omitempty"`
	To       []string `json:"to,omitempty"`
	Username string   `json:"username,omitempty"`
}

// Event is something that happened in the vault.
type Event struct {
	ID            int64             `json:"id"`
	Type          string            `json:"type"`
	Time          time.Time         `json:"time"`
	Instance      string            `json:"instance,omitempty"`
	Cluster       string            `json:"cluster,omitempty"`
	Job           int64             `json:"job,omitempty"`
	RecoveryPoint string            `json:"recoveryPoint,omitempty"`
	Summary       string            `json:"summary"`
	Details       map[string]string `json:"details,omitempty"`
}

// Delivery is an event sent, or being sent, through a rule's channel: the delivery log's entry.
type Delivery struct {
	ID          int64      `json:"id"`
	Rule        string     `json:"rule"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	NextAttempt *time.Time `json:"nextAttempt,omitempty"`
	LastError   string     `json:"lastError,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	DeliveredAt *time.Time `json:"deliveredAt,omitempty"`
	Event       Event      `json:"event"`
}
