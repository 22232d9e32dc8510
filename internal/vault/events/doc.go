// Package events names what happens in a vault that people may want to be told of (a job
// failed, an instance breached its recovery point objective, an agent went silent), and owns the
// list of those event types. Events are recorded in the vault's store, once each (their key),
// and the notifier (internal/vault/notify) sends them through the notification rules that ask
// for them (docs/design/monitoring.md, "Notifications").
package events
