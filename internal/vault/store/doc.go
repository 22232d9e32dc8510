// Package store persists the vault's objects (docs/design/vault.md) with database/sql: embedded
// SQLite (modernc.org/sqlite, no cgo) by default. Schema changes are numbered SQL migrations
// (migrations/NNNN_*.sql), applied in order, each in its own transaction, and recorded in
// schema_migrations; they use the SQL subset SQLite and PostgreSQL share.
package store
