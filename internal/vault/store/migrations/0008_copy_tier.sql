-- A policy's copy tier (docs/design/vault.md, "The copy tier of a policy"): its JSON
-- (policy.CopyTier), empty for none, and per instance how many scheduled backups were queued and the
-- run time of the last that copied, by which the tier chooses the backups that copy.
ALTER TABLE policies ADD COLUMN copy_tier TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN scheduled_backups INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN last_copy_at TIMESTAMP
