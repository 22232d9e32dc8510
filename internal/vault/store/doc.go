// Package store persists the vault's objects (docs/design/vault.md) with database/sql: embedded
// SQLite (modernc.org/sqlite, no cgo) by default, or PostgreSQL. Schema changes are numbered SQL
// migrations (migrations/NNNN_*.sql), applied in order, each in its own transaction, and recorded
// in schema_migrations; they use the SQL subset SQLite and PostgreSQL share.
//
// The store holds what the job life cycle (internal/vault/jobs) decides: it implements jobs.Store.
// It returns rows of its own, keeping what it stores as JSON (job specs and results, instances'
// configurations) as JSON, and knows nothing of the API's shapes.
package store
