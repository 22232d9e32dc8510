// Package notify tells people what happens in a vault (docs/design/monitoring.md,
// "Notifications"). It watches for what no job records (instances breaching their recovery point
// objective, agents gone silent) and records it as events; it routes every event to the
// notification rules that ask for it, and delivers each through its rule's channel (a generic
// webhook signed with HMAC-SHA256, Slack- or Teams-compatible incoming webhooks, e-mail over
// SMTP), retrying with back-off and keeping a log of every delivery in the store.
package notify
