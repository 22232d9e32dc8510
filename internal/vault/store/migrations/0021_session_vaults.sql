-- A Backup center session may hold the tokens of several vaults (docs/design/backup-center.md,
-- "Several vaults"): all of them sealed together, beside the current vault's own columns, which a
-- replica of the previous release still reads.
ALTER TABLE sessions ADD COLUMN vaults_sealed TEXT NOT NULL DEFAULT ''
