// Package scheduler is the vault's clock-driven loop: it queues the backups policies make due,
// queues the deletion of recovery points retention lets go, and fails (and retries) the jobs of
// agents that stopped reporting, all through the job life cycle (internal/vault/jobs). Time comes
// from an injected clock, so tests can move days ahead.
package scheduler
