// Package leader elects one vault replica at a time, through the database they share, to run
// what must run once: the scheduler and retention, and the notifier (docs/design/vault.md,
// "Replicas").
package leader
