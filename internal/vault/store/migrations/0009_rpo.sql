-- Recovery point objectives (docs/design/monitoring.md): a policy's and an instance's override,
-- as durations in policy.Duration's form ("26h"), empty for none.
ALTER TABLE policies ADD COLUMN rpo TEXT NOT NULL DEFAULT '';
ALTER TABLE instances ADD COLUMN rpo TEXT NOT NULL DEFAULT '';

-- The newest good recovery point of each instance (LastGoodBackups), read for every instance list.
CREATE INDEX recovery_points_by_instance_time ON recovery_points (vault, instance, completed_at)
