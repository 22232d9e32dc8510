// Package jobs is the life cycle of the vault's jobs (docs/design/vault.md, "Job lifecycle"):
// their states and the moves between them, what a finished job produces, how a job whose agent
// stopped reporting is failed and retried, how recovery points and restores are named, which jobs
// of an instance never run at once, and the jobs the vault queues (backups for a run of a
// schedule or on demand, deletions of recovery points, restores).
//
// It decides; the database only holds what it decided. It reaches the database through Store,
// the narrow interface it declares, which internal/vault/store implements for SQLite and
// PostgreSQL; its tests run on an in-memory Store. Specs and results are the agent protocol's
// (api/agentv1) and stored as JSON: this package encodes and decodes them.
package jobs
